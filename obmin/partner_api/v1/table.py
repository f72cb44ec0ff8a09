"""API v1 declared once: per method its parameters and its answer's fields (name, the JSON type
Premium's PHP sends, where the value comes from).

The answers are made from these tables (`shape`), and so are the docs page and the OpenAPI
document (`v1/docs.py`) and the conformance tests, so none of them can drift from another.

Premium is PHP: inside `data` every scalar is a JSON string (`"id": "810"`, `"req": "1"`),
money as plain decimals; a list PHP keys by name (a direction's fields) is an object, and an
empty one is `[]`. The field names below are Premium's, kept for compatibility; the sources
use Obmin's own names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from obmin.lib.money import plain
from obmin.lib.timeutil import to_unix
from obmin.partner_api.envelope import number

# Premium's JSON types of a field.
STRING = "string"  # every scalar: ids, amounts, rates, times, flags
OBJECT = "object"  # a fixed set of fields
LIST = "list"  # a JSON array of objects
KEYED = "keyed"  # an object of objects keyed by name; `[]` when empty (PHP's empty array)

# A source's answer that leaves the field out (e.g. `statuses` unless status_history=1).
OMIT = object()


@dataclass(frozen=True)
class Field:
    """One field of an answer. `get` reads the value from the subject (default: the key or
    attribute of the field's name); `fields` describes each element of an object or list."""

    name: str
    wire: str
    source: str | Promise
    get: Callable[[Any], Any] | None = None
    fields: tuple[Field, ...] = ()
    optional: bool = False  # present only when the request asks for it


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
    answer: tuple[Field, ...] = ()
    # What `data` is: an object of `answer`'s fields, a list of them (get_directions), or
    # the one field's value as a string (cancel_bid's new status, as Premium's PHP sends it).
    data: str = OBJECT
    # `error` as this method's PHP sends it on success: create_bid's is the string "0".
    success_error: int | str = 0

    def shape_data(self, values: Any) -> Any:
        """`data` of a successful answer from the values gathered under the fields' names."""
        if self.data == LIST:
            return [shape(self.answer, each) for each in values]
        if self.data == STRING:
            return php_string(values)
        return shape(self.answer, values)


def php_string(value: Any) -> str:
    """A scalar as PHP's json_encode writes the string it holds."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return plain(value) if value.is_finite() else "0"
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, datetime):
        return str(to_unix(value))
    return str(value)


def _read(subject: Any, field: Field) -> Any:
    if field.get is not None:
        return field.get(subject)
    if isinstance(subject, Mapping):
        return subject[field.name]
    return getattr(subject, field.name)


def shape(fields: tuple[Field, ...], subject: Any) -> dict[str, Any]:
    """The answer object of `fields` read from `subject`, each value in its wire type."""
    shaped: dict[str, Any] = {}
    for field in fields:
        value = _read(subject, field)
        if value is OMIT:
            continue
        shaped[field.name] = wire_value(field, value)
    return shaped


def wire_value(field: Field, value: Any) -> Any:
    if field.wire == STRING:
        return php_string(value)
    if field.wire == OBJECT:
        return shape(field.fields, value)
    if field.wire == LIST:
        return [shape(field.fields, each) for each in value]
    if field.wire == KEYED:
        # PHP writes an empty array as `[]`, a keyed one as an object.
        if not field.fields:  # a select's options: value -> title
            return {str(key): php_string(each) for key, each in value.items()} or []
        return {str(key): shape(field.fields, each) for key, each in value.items()} or []
    raise ValueError(f"unknown wire type {field.wire}")


def json_schema(field: Field) -> dict[str, Any]:
    """The JSON Schema of one field (the OpenAPI document and the conformance tests)."""
    description = str(field.source)
    if field.wire == STRING:
        return {"type": "string", "description": description}
    element = {"type": "object", "required": [f.name for f in field.fields if not f.optional],
               "properties": {f.name: json_schema(f) for f in field.fields}}
    if field.wire == OBJECT:
        return {**element, "description": description}
    if field.wire == LIST:
        return {"type": "array", "items": element, "description": description}
    if not field.fields:
        element = {"type": "string"}
    return {"description": description, "oneOf": [
        {"type": "object", "additionalProperties": element},
        {"type": "array", "maxItems": 0}]}


def data_schema(method: Method) -> dict[str, Any]:
    if method.data == STRING:
        (only,) = method.answer
        return json_schema(only)
    element = json_schema(Field("data", OBJECT, method.summary, fields=method.answer))
    if method.data == LIST:
        return {"type": "array", "items": element}
    return element


# ---------------------------------------------------------------------------------------------
# Parameters shared by several methods.

WINDOW = (
    Param("start_time", "integer", False, _("From this unix time (inclusive).")),
    Param("end_time", "integer", False, _("Up to this unix time (inclusive).")),
    Param("limit", "integer", False, _("At most this many items.")),
)
OFFSET = Param("offset", "integer", False, _("Skip this many items first."))
CURRENCY_FILTERS = (
    Param("currency_id_give", "integer", False, _("Only directions from this currency.")),
    Param("currency_id_get", "integer", False, _("Only directions to this currency.")),
)
DIRECTION = Param("direction_id", "integer", True, _("The direction's id (get_directions)."))
AMOUNT = (
    Param("calc_amount", "number", True, _("The amount.")),
    Param("calc_action", "integer", False,
          _("1: calc_amount is what the customer gives (sum_give, the default); 2: what it "
            "gets (sum_get); 3: what it gives with the commission (sum_give_com); 4: what it "
            "gets with the commission (sum_get_com).")),
    Param("cd", "string", False, _("Accepted for compatibility; Obmin's fields carry no "
                                   "extra calculator data.")),
)
BID_BY = (Param("hash", "string", False, _("The bid's hash (or give its id).")),
          Param("id", "integer", False, _("Or the bid's id (as Premium's Telegram module "
                                          "sends it).")))
STATUS_HISTORY = Param("status_history", "integer", False,
                       _("1: add each item's status history (statuses); 0 (default): not."))
IP = Param("ip", "string", False,
           _("Only items from this customer's address (compared masked when the operator "
             "masks addresses; each item's user_ip shows it so)."))
STATUS_FILTER = Param("status", "string", False,
                      _("Only bids in these statuses (Premium's names, comma-separated)."))

# ---------------------------------------------------------------------------------------------
# Answer fields shared by several methods.


def _s(name: str, source: str | Promise, get: Callable[[Any], Any] | None = None,
       optional: bool = False) -> Field:
    return Field(name, STRING, source, get, optional=optional)


TIME = (_s("time", _("Unix time of creation.")),
        _s("date", _("The same time in UTC, YYYY-MM-DD HH:MM:SS.")))
HISTORY = Field("statuses", LIST, _("The status history, oldest first (status_history=1)."),
                fields=(*TIME, _s("status", _("Premium's status name."))), optional=True)
SOURCE_FIELDS = tuple(_s(f"sub{n}", _("The link's sub-ID (Obmin's addition).")) for n in
                      range(1, 6)) + (
    _s("country", _("The click's country, ISO 3166 alpha-2 (Obmin's addition).")),)

CURRENCY = (
    _s("id", _("Currency id.")),
    _s("title", _("Its title.")),
    _s("logo", _("Logo URL (Obmin keeps none: empty).")),
    _s("code", _("Its monitoring code (Obmin's addition).")),
)
AMOUNTS = (
    _s("currency_code_give", _("Code of the currency given.")),
    _s("currency_code_get", _("Code of the currency received.")),
    _s("reserve", _("Reserve of the currency received.")),
    _s("course_give", _("Rate: give side.")),
    _s("course_get", _("Rate: get side.")),
    _s("sum_give", _("Amount given before the give commission.")),
    _s("sum_give_com", _("Amount given with the commission: what the customer pays.")),
    _s("sum_get", _("Amount received before the get commission.")),
    _s("sum_get_com", _("Amount received with the commission: what the customer gets.")),
    _s("com_give", _("The give commission as text (e.g. 1%), empty when none.")),
    _s("com_get", _("The get commission as text (e.g. 0.0001 BTC), empty when none.")),
    _s("min_give", _("Minimum given, or no.")),
    _s("max_give", _("Maximum given, or no.")),
    _s("min_get", _("Minimum received, or no.")),
    _s("max_get", _("Maximum received, or no.")),
)
FIELD_DESCRIPTION = (
    _s("name", _("The field's name, to send to create_bid.")),
    _s("type", _("text (a one-line input; Premium also has textarea, select and checkbox, "
                 "which Obmin's fields never are).")),
    _s("label", _("The field's label in the request's language.")),
    _s("req", _("1 required, 0 optional.")),
    _s("tooltip", _("A hint.")),
    Field("options", KEYED, _("A select's options (none: [])."), fields=()),
    _s("cd", _("1 when the calculator needs it (never in Obmin).")),
)
API_ACTIONS = Field("api_actions", OBJECT, _("What the customer may do next."), fields=(
    _s("type", _("How the customer pays: address (send to address), link (on the "
                 "exchange's page, the pay URL), or finished once nothing is left to pay.")),
    _s("cancel", _("api (call cancel_bid), disabled, or a URL to open.")),
    _s("pay", _("api (call pay_bid once paid), disabled, or a URL where the customer pays.")),
    _s("instruction", _("Payment instructions in the request's language.")),
    _s("pay_amount", _("The amount to pay.")),
    _s("address", _("Where to send it (empty when paid on a page).")),
    _s("dest_tag", _("The memo or tag the network needs, if any (empty when none).")),
    _s("memo", _("The same as dest_tag (Obmin's addition).")),
))
BID = (
    _s("url", _("The exchange's page.")),
    _s("id", _("The bid's id.")),
    _s("hash", _("The bid's hash (for cancel_bid, pay_bid, success_bid).")),
    _s("api_id", _("Your own id for the bid.")),
    _s("status", _("Premium's status name.")),
    _s("status_title", _("The status's title in the request's language.")),
    _s("psys_give", _("Title of the currency given.")),
    _s("psys_get", _("Title of the currency received.")),
    _s("currency_code_give", _("Code of the currency given.")),
    _s("currency_code_get", _("Code of the currency received.")),
    _s("amount_give", _("Amount given.")),
    _s("amount_get", _("Amount received.")),
    _s("course_give", _("Rate: give side.")),
    _s("course_get", _("Rate: get side.")),
    API_ACTIONS,
)
NEW_STATUS = (_s("status", _("data itself: the bid's status after the call, Premium's name "
                             "(a string, not an object). Asked again in that status, the "
                             "same answer.")),)
EXCHANGE_ITEM = (
    _s("id", _("The exchange's id.")),
    *TIME,
    _s("psys_give", _("Title of the currency given.")),
    _s("psys_get", _("Title of the currency received.")),
    _s("currency_code_give", _("Code of the currency given.")),
    _s("currency_code_get", _("Code of the currency received.")),
    _s("course_give", _("Rate: give side.")),
    _s("course_get", _("Rate: get side.")),
    _s("amount_give", _("Amount given.")),
    _s("amount_get", _("Amount received.")),
    _s("exchange_success", _("1 when the exchange succeeded.")),
    _s("user_hash", _("The visitor's hash.")),
    _s("user_ip", _("The customer's address (masked as the operator masks addresses).")),
    _s("status", _("Premium's status name.")),
    HISTORY,
)

# ---------------------------------------------------------------------------------------------
# The methods, in the docs' order.

METHODS = (
    Method("test", _("The key's partner, the caller's address and locale."), answer=(
        _s("ip", _("Your address as seen.")),
        _s("user_id", _("The key's user.")),
        _s("locale", _("API-LANG as sent (en_US when none).")),
        _s("partner_id", _("The key's partner.")),
    )),
    Method("get_partner_info", _("Balance, minimum payout and payout methods."), answer=(
        _s("partner_id", _("The key's partner.")),
        _s("balance", _("Payable balance.")),
        _s("min_payout", _("The smallest payout.")),
        Field("items", LIST, _("Payout methods."), fields=(
            _s("id", _("Method id (add_partner_payout's method_id).")),
            _s("title", _("Its title.")),
            _s("commission", _("Its fee, N%.")),
            _s("comission", _("The same, as Premium's PHP spells it.")),
            _s("amount", _("What the balance pays out by it.")),
        )),
    )),
    Method("get_partner_links", _("Clicks on the partner's links (crawlers left out)."),
           (*WINDOW, OFFSET, Param("ip", "string", False, _("Only clicks from this address."))),
           answer=(Field("items", LIST, _("Clicks, newest first."), fields=(
               _s("id", _("Click id.")), *TIME,
               _s("browser", _("Browser.")), _s("ip", _("Address (masked).")),
               _s("referrer", _("Referring page.")), _s("user_hash", _("Visitor's hash.")),
               _s("query_string", _("The link's query string.")), *SOURCE_FIELDS)),)),
    Method("get_partner_exchanges", _("Exchanges the partner referred, with statuses."),
           (*WINDOW, OFFSET, Param("id", "integer", False, _("Only this exchange.")),
            STATUS_HISTORY, IP, STATUS_FILTER),
           answer=(Field("items", LIST, _("Exchanges, newest first."), fields=(
               *EXCHANGE_ITEM[:12],
               _s("accrued", _("1 when the partner's reward was credited.")),
               _s("partner_reward", _("The partner's reward.")),
               *EXCHANGE_ITEM[12:], *SOURCE_FIELDS,
               _s("updated_time", _("Unix time of the last change (Obmin's addition).")))),)),
    Method("get_partner_payouts", _("The partner's payouts (0 pending, 1 paid, 2 cancelled)."),
           (*WINDOW, OFFSET, Param("id", "integer", False, _("Only this payout."))),
           answer=(Field("items", LIST, _("Payouts, newest first."), fields=(
               _s("id", _("Payout id.")), *TIME,
               _s("method_id", _("Payout method.")), _s("account", _("Paid to.")),
               _s("pay_amount", _("Amount paid.")),
               _s("pay_currency_code", _("Its currency.")),
               _s("original_amount", _("Amount taken from the balance.")),
               _s("original_currency_code", _("Its currency.")),
               _s("status", _("0 pending, 1 paid, 2 cancelled.")))),)),
    Method("add_partner_payout", _("Asks for a payout of the whole balance."),
           (Param("method_id", "integer", True, _("A payout method's id.")),
            Param("account", "string", True, _("Where to pay it."))),
           answer=(_s("payout_id", _("The new payout's id.")),)),
    Method("get_direction_currencies", _("Currencies customers may give and get."),
           CURRENCY_FILTERS, answer=(
               Field("give", LIST, _("Currencies customers give."), fields=CURRENCY),
               Field("get", LIST, _("Currencies customers get."), fields=CURRENCY))),
    Method("get_directions", _("The exchange directions on offer."), CURRENCY_FILTERS,
           data=LIST, answer=(
               _s("direction_id", _("Direction id.")),
               _s("currency_give_id", _("Currency given: id.")),
               _s("currency_give_title", _("Its title.")),
               _s("currency_give_logo", _("Its logo (none: empty).")),
               _s("currency_get_id", _("Currency received: id.")),
               _s("currency_get_title", _("Its title.")),
               _s("currency_get_logo", _("Its logo (none: empty).")),
           )),
    Method("get_direction", _("One direction: rates, reserve, limits, the fields a bid needs."),
           (Param("direction_id", "integer", False,
                  _("The direction's id; or give both currencies.")),
            Param("currency_id_give", "integer", False, _("The currency given (with "
                                                          "currency_id_get).")),
            Param("currency_id_get", "integer", False, _("The currency received."))),
           answer=(
               _s("id", _("Direction id.")),
               _s("url", _("The exchange page with this direction chosen.")),
               *AMOUNTS,
               Field("info", OBJECT, _("Texts of the direction."), fields=(
                   _s("timeline_text", _("How the exchange goes (payment instructions).")),
                   _s("frozen_text", _("Shown while a bid waits.")),
                   _s("before_button_text", _("Shown before the button.")))),
               Field("give_fields", KEYED, _("Fields about the currency given, by name."),
                     fields=FIELD_DESCRIPTION),
               Field("get_fields", KEYED, _("Fields about the currency received, by name."),
                     fields=FIELD_DESCRIPTION),
               Field("dir_fields", KEYED, _("The direction's own fields, by name."),
                     fields=FIELD_DESCRIPTION),
           )),
    Method("get_calc", _("What the customer gives and gets, moved into the limits."),
           (DIRECTION, *AMOUNT),
           answer=(*AMOUNTS, _s("changed", _("1 when the amount was moved into the limits.")))),
    Method("create_bid", _("Creates an exchange, checked as the exchange page checks it."),
           (DIRECTION, *AMOUNT,
            Param("account2", "string", True, _("The customer's account to receive.")),
            Param("cf6", "string", True,
                  _("The customer's e-mail: the direction's e-mail field (cf6 unless "
                    "get_direction names another), and every other field it lists by name.")),
            Param("partner_id", "integer", False,
                  _("The partner that referred the customer: only the key's own partner unless "
                    "the operator granted the key others; a customer already bound to a "
                    "partner by an earlier successful exchange stays that partner's.")),
            Param("api_id", "string", False, _("Your own id for the bid.")),
            Param("callback_url", "string", False,
                  _("Receives a POST (form-encoded: bid_id, account1, account2, cfgive8, "
                    "cf1 … cf99 as given, status, hash) on each status change; a public "
                    "http(s) address; retried for about 9 hours.")),
            Param("user_ip", "string", False,
                  _("The customer's address: counted for the per-customer limit and kept on "
                    "the exchange."))),
           answer=BID, success_error="0"),
    Method("bid_info", _("One of this key's bids."),
           (Param("id", "integer", False, _("The bid's id.")),
            Param("hash", "string", False, _("Or its hash."))), answer=BID),
    Method("cancel_bid", _("Cancels a bid not yet paid (api_actions.cancel is api)."), BID_BY,
           answer=NEW_STATUS, data=STRING),
    Method("pay_bid", _("The customer says it has paid (api_actions.pay is api)."), BID_BY,
           answer=NEW_STATUS, data=STRING),
    Method("success_bid", _("Marks a bid done (keys the operator granted it to)."), BID_BY,
           answer=NEW_STATUS, data=STRING),
    Method("get_exchanges", _("This key's own bids."),
           (*WINDOW, OFFSET,
            Param("id", "string", False, _("Only these bids: an id, or ids separated by "
                                           "commas.")),
            Param("api_id", "string", False, _("Only the bids with your own ids (one, or "
                                               "several separated by commas).")),
            Param("hash", "string", False, _("Only the bid with this hash.")),
            IP, STATUS_HISTORY, STATUS_FILTER),
           answer=(Field("items", LIST, _("Bids, newest first."), fields=(
               *EXCHANGE_ITEM[:1], _s("api_id", _("Your own id for the bid.")),
               _s("hash", _("The bid's hash (Obmin's addition).")),
               *EXCHANGE_ITEM[1:12],
               _s("accrued", _("1 when your reward for it was credited.")),
               _s("partner_reward", _("Your reward for it (0 when another partner was "
                                      "credited).")),
               *EXCHANGE_ITEM[12:])),)),
)
BY_NAME = {method.name: method for method in METHODS}
