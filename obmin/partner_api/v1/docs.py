"""API v1 in the docs page and the OpenAPI document, from one table of its methods."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from obmin.lib.site import public_url
from obmin.partner_api.v1.answer import (
    API_DISABLED,
    E_ADDRESS,
    E_DISABLED,
    E_METHOD,
    E_NO_BID,
    E_NO_DIRECTION,
    E_PARAMETER,
    E_TOO_MANY,
    METHOD_NOT_SUPPORTED,
    NO_BID,
    NO_DIRECTION,
)
from obmin.partner_api.v1.catalog import ALL_METHODS

PATH = "/api/userapi/v1/"


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # integer, number, string
    required: bool
    description: str | Promise


@dataclass(frozen=True)
class Method:
    name: str
    summary: str | Promise
    params: tuple[Param, ...] = ()


WINDOW = (
    Param("start_time", "integer", False, _("From this unix time (inclusive).")),
    Param("end_time", "integer", False, _("Up to this unix time (inclusive).")),
    Param("limit", "integer", False, _("At most this many items.")),
)
DIRECTION = Param("direction_id", "integer", True, _("The direction's id (get_directions)."))
AMOUNT = (
    Param("calc_amount", "number", True, _("The amount.")),
    Param("calc_action", "integer", False,
          _("1: calc_amount is what the customer gives (default); 2: what it gets.")),
)

METHODS = (
    Method("test", _("The key's partner, the caller's address and locale.")),
    Method("get_partner_info", _("Balance, minimum payout and payout methods.")),
    Method("get_partner_links", _("Clicks on the partner's links (crawlers left out)."),
           (*WINDOW, Param("ip", "string", False, _("Only clicks from this address.")))),
    Method("get_partner_exchanges", _("Exchanges the partner referred, with statuses."),
           (*WINDOW, Param("id", "integer", False, _("Only this exchange.")),
            Param("status_history", "integer", False,
                  _("0: leave the status history (statuses) empty.")),
            Param("ip", "string", False,
                  _("Only exchanges made from this customer's address (compared masked "
                    "when addresses are masked; each item's user_ip shows it so).")))),
    Method("get_partner_payouts", _("The partner's payouts (0 pending, 1 paid, 2 cancelled)."),
           (*WINDOW, Param("id", "integer", False, _("Only this payout.")))),
    Method("add_partner_payout", _("Asks for a payout of the whole balance."),
           (Param("method_id", "integer", True, _("A payout method's id.")),
            Param("account", "string", True, _("Where to pay it.")))),
    Method("get_direction_currencies", _("Currencies customers may give and get."),
           (Param("currency_id_give", "integer", False, _("Only directions from it.")),
            Param("currency_id_get", "integer", False, _("Only directions to it.")))),
    Method("get_directions", _("The exchange directions on offer."),
           (Param("currency_id_give", "integer", False, _("Only directions from it.")),
            Param("currency_id_get", "integer", False, _("Only directions to it.")))),
    Method("get_direction", _("One direction: rate, reserve, limits, the fields a bid needs."),
           (DIRECTION,)),
    Method("get_calc", _("What the customer gives and gets, moved into the limits."),
           (DIRECTION, *AMOUNT)),
    Method("create_bid", _("Creates an exchange, checked as the exchange page checks it."),
           (DIRECTION, *AMOUNT,
            Param("account2", "string", True, _("The customer's account to receive.")),
            Param("cf6", "string", True, _("The customer's e-mail.")),
            Param("partner_id", "integer", False,
                  _("The partner that referred the customer (earns its reward).")),
            Param("api_id", "string", False, _("Your own id for the bid.")),
            Param("callback_url", "string", False,
                  _("Receives a POST (form-encoded: id, hash, api_id, status, status_title, "
                    "previous_status, amount_give, amount_get, time) on each status change; "
                    "a public http(s) address; retried for about 9 hours.")))),
    Method("bid_info", _("One of this key's bids."),
           (Param("id", "integer", False, _("The bid's id.")),
            Param("hash", "string", False, _("Or its hash.")))),
    Method("cancel_bid", _("Cancels a bid not yet paid."),
           (Param("hash", "string", True, _("The bid's hash.")),)),
    Method("pay_bid", _("The customer says it has paid (“I have paid”)."),
           (Param("hash", "string", True, _("The bid's hash.")),)),
    Method("get_exchanges", _("This key's own bids."), WINDOW),
)
assert tuple(m.name for m in METHODS) == ALL_METHODS

ERRORS = (
    (E_DISABLED, API_DISABLED, _("Unknown login or key, revoked key, or the API is off.")),
    (E_ADDRESS, API_DISABLED, _("The key may not be used from this address.")),
    (E_METHOD, METHOD_NOT_SUPPORTED,
     _("Unknown method, one outside the key's method set, or not POST (HTTP 405).")),
    (E_PARAMETER, "param: why", _("A bad parameter; error_fields names each.")),
    (E_TOO_MANY, "Too many requests…", _("HTTP 429 with Retry-After.")),
    (E_NO_BID, NO_BID, _("No bid of this key with that id or hash.")),
    (E_NO_DIRECTION, NO_DIRECTION, _("No active direction with that id.")),
)


def curl(method: Method) -> str:
    data = " ".join(f"-d '{p.name}=…'" for p in method.params if p.required)
    return (f"curl -X POST '{public_url(PATH + method.name)}' "
            f"-H 'API-LOGIN: <login>' -H 'API-KEY: <key>' {data}").rstrip()


def page() -> dict[str, Any]:
    """What the docs page shows of v1."""
    return {"url": public_url(PATH), "methods": [
        {"method": m, "curl": curl(m)} for m in METHODS], "errors": ERRORS}


def openapi_paths() -> dict[str, Any]:
    """One POST operation per v1 method, for the OpenAPI document beside api.php."""
    envelope = {"type": "object", "required": ["error", "error_text", "data"], "properties": {
        "error": {"type": "integer"}, "error_text": {"type": "string"},
        "error_fields": {"type": "object", "additionalProperties": {"type": "string"}},
        "data": {}}}
    errors = "\n".join(f"- {code}: {text}" for code, text, _why in ERRORS)
    paths: dict[str, Any] = {}
    for method in METHODS:
        properties = {p.name: {"type": p.type, "description": str(p.description)}
                      for p in method.params}
        body = {"type": "object", "properties": properties,
                "required": [p.name for p in method.params if p.required]}
        json_answer = {"application/json": {"schema": envelope}}
        paths[PATH + method.name] = {"post": {
            "summary": f"v1 {method.name}: {method.summary}",
            "description": str(_("Errors:")) + "\n" + errors,
            "operationId": f"v1_{method.name}",
            "tags": ["API v1"],
            "security": [{"v1_login": [], "v1_key": []}],
            "requestBody": {"required": False, "content": {
                "application/x-www-form-urlencoded": {"schema": body}}},
            "responses": {
                "200": {"description": str(_("The envelope; errors too.")),
                        "content": json_answer},
                "405": {"description": str(_("Not POST (Method not supported).")),
                        "content": json_answer},
                "429": {"description": str(_("Too many requests.")),
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                        "content": json_answer},
            },
        }}
    return paths


SECURITY_SCHEMES = {
    "v1_login": {"type": "apiKey", "in": "header", "name": "API-LOGIN"},
    "v1_key": {"type": "apiKey", "in": "header", "name": "API-KEY"},
}
