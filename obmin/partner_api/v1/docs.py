"""API v1 in the docs page and the OpenAPI document, from one table of its methods."""

from __future__ import annotations

from typing import Any

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
from obmin.partner_api.v1.table import METHODS, Method, data_schema

assert tuple(m.name for m in METHODS) == ALL_METHODS

PATH = "/api/userapi/v1/"

# Where Obmin's v1 still differs from Premium's (the docs page lists them; none should matter
# to a client written for Premium).
DIFFERENCES = (
    _("Currencies have no logos: logo fields are empty strings."),
    _("Statuses Obmin's lifecycle never reaches (coldnew, delete, techpay, coldpay, partpay, "
      "verify, mercherror, payouterror, scrpayerror, coldsuccess, partpayout) are never sent; "
      "the status filter accepts them and finds nothing."),
    _("get_exchanges' time and date are when the bid was made, and start_time and end_time "
      "select by it; Premium's are its last change (follow changes by callback_url, or read "
      "statuses with status_history=1)."),
    _("Fields are one-line inputs (type text, no select options) and none feeds the "
      "calculator (cd is 0); the calculator's cd parameter is accepted and unused."),
    _("Additions a Premium client ignores: each currency's code, api_actions.memo, "
      "get_exchanges' hash, the partner lists' sub1 … sub5, country and updated_time, a status "
      "filter, and error_fields on every refused parameter."),
)

ERRORS = (
    (E_DISABLED, API_DISABLED, _("Unknown login or key, revoked key, or the API is off.")),
    (E_ADDRESS, API_DISABLED, _("The key may not be used from this address.")),
    (E_METHOD, METHOD_NOT_SUPPORTED,
     _("Unknown method, one outside the key's method set or grants, or neither GET nor POST "
       "(HTTP 405).")),
    (E_PARAMETER, "param: why", _("A bad parameter; error_fields names each.")),
    (E_TOO_MANY, "Too many requests…", _("HTTP 429 with Retry-After.")),
    (E_NO_BID, NO_BID, _("No bid of this key with that id or hash.")),
    (E_NO_DIRECTION, NO_DIRECTION, _("No active direction with that id.")),
)


def curl(method: Method) -> str:
    data = " ".join(f"-d '{p.name}=…'" for p in method.params if p.required)
    return (f"curl -X POST '{public_url(PATH + method.name)}' "
            f"-H 'API-LOGIN: <login>' -H 'API-KEY: <key>' {data}").rstrip()


def _answer_rows(fields: Any, prefix: str = "") -> list[dict[str, str]]:
    """The answer's fields as the docs table lists them, nested ones as `parent.child`."""
    rows = []
    for field in fields:
        rows.append({"name": prefix + field.name, "wire": field.wire,
                     "source": str(field.source)})
        rows.extend(_answer_rows(field.fields, f"{prefix}{field.name}."))
    return rows


def page() -> dict[str, Any]:
    """What the docs page shows of v1: every method's parameters and answer from its table."""
    return {"url": public_url(PATH), "methods": [
        {"method": m, "curl": curl(m), "answer": _answer_rows(m.answer),
         "error": repr(m.success_error).replace("'", '"')} for m in METHODS],
        "errors": ERRORS, "differences": DIFFERENCES}


def openapi_paths() -> dict[str, Any]:
    """A GET and a POST operation per v1 method, for the OpenAPI document beside api.php;
    each answer's `data` schema comes from the method's table."""
    errors = "\n".join(f"- {code}: {text}" for code, text, _why in ERRORS)
    paths: dict[str, Any] = {}
    for method in METHODS:
        properties = {p.name: {"type": p.type, "description": str(p.description)}
                      for p in method.params}
        body = {"type": "object", "properties": properties,
                "required": [p.name for p in method.params if p.required]}
        success = {"type": "object", "required": ["error", "error_text", "data"], "properties": {
            "error": ({"type": "string", "enum": ["0"]} if method.success_error == "0"
                      else {"type": "integer"}),
            "error_text": {"type": "string"}, "data": data_schema(method)}}
        failure = {"type": "object", "required": ["error", "error_text", "data"], "properties": {
            "error": {"type": "integer"}, "error_text": {"type": "string"},
            "error_fields": {"type": "object", "additionalProperties": {"type": "string"}},
            "data": {}}}
        json_answer = {"application/json": {"schema": {"oneOf": [success, failure]}}}
        operation: dict[str, Any] = {
            "summary": f"v1 {method.name}: {method.summary}",
            "description": str(_("Errors:")) + "\n" + errors,
            "operationId": f"v1_{method.name}_%s",
            "tags": ["API v1"],
            "security": [{"v1_login": [], "v1_key": []}],
            "requestBody": {"required": False, "content": {
                "application/x-www-form-urlencoded": {"schema": body},
                "application/json": {"schema": body}}},
            "responses": {
                "200": {"description": str(_("The envelope; errors too.")),
                        "content": json_answer},
                "405": {"description": str(_("Neither GET nor POST (Method not "
                                             "supported).")),
                        "content": json_answer},
                "429": {"description": str(_("Too many requests.")),
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                        "content": json_answer},
            },
        }
        query = [{"name": p.name, "in": "query", "required": p.required,
                  "schema": {"type": p.type}, "description": str(p.description)}
                 for p in method.params]
        paths[PATH + method.name] = {
            "post": {**operation, "operationId": operation["operationId"] % "post"},
            "get": {**{k: v for k, v in operation.items() if k != "requestBody"},
                    "operationId": operation["operationId"] % "get", "parameters": query}}
    return paths


SECURITY_SCHEMES = {
    "v1_login": {"type": "apiKey", "in": "header", "name": "API-LOGIN"},
    "v1_key": {"type": "apiKey", "in": "header", "name": "API-KEY"},
}
