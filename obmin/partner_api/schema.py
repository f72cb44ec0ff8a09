"""What api.php accepts and answers, said once: the docs page and the OpenAPI document are
built from this, and the tests check the endpoint's answers against it, so none can drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from obmin.lib.i18n import lazy_format
from obmin.lib.site import public_url


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # JSON schema type: integer, number, string, array, object
    description: Any
    fields: tuple[Field, ...] = ()  # of each element (array) or value (object keyed by id)


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    description: Any
    required: bool = False


@dataclass(frozen=True)
class Method:
    name: str
    summary: Any
    description: Any
    params: tuple[Param, ...] = ()
    # `data` of the answer. A list method's data is `items`, an object keyed by id.
    data: tuple[Field, ...] = field(default_factory=tuple)
    example_options: dict[str, str] = field(default_factory=dict)

    @property
    def item_fields(self) -> tuple[Field, ...]:
        items = next((f for f in self.data if f.name == "items"), None)
        return items.fields if items else ()


def _time(what: Any) -> tuple[Field, Field]:
    return (Field("time", "integer", lazy_format(_("%(what)s, unix seconds"), what=what)),
            Field("date", "string", _("the same moment in UTC, YYYY-MM-DD HH:MM:SS")))


START = Param("start_time", "integer", _("Only items at or after this moment (unix seconds, "
                                         "inclusive)."))
END = Param("end_time", "integer", _("Only items at or before this moment (unix seconds, "
                                     "inclusive)."))
OFFSET = Param("offset", "integer", _("Skip this many items first (default 0)."))
LIMIT = Param("limit", "integer", _("At most this many items (default: all of them; a result "
                                    "is never cut short unless you ask)."))
LIST_PARAMS = (START, END, OFFSET, LIMIT)

COMMON_PARAMS = (
    Param("api_action", "string", _("Always pp."), required=True),
    Param("api_key", "string", _("Your API key. Or send it in the header Authorization: "
                                 "Bearer <key>, which keeps it out of URLs and logs.")),
    Param("method", "string", _("The method's name, below."), required=True),
)

ERRORS = (
    (1, _("Unknown or revoked API key, API access disabled for the account, or the API "
          "switched off by the operator.")),
    (2, _("The key may not be used from this IP address (the key's IP allow-list).")),
    (3, _("Unknown api_action or method.")),
    (4, _("A bad parameter; error_text starts with its name, e.g. start_time: …")),
    (5, _("Too many requests: HTTP 429 with a Retry-After header (seconds).")),
)

SOURCE_FIELDS = (
    *(Field(f"sub{n}", "string", lazy_format(
        _("the sub%(n)s value your link carried (sub%(n)s=… in its query string), or empty"),
        n=n)) for n in range(1, 6)),
    Field("country", "string", _("the visitor's country, ISO 3166 alpha-2 (UA, PL…), or empty "
                                 "when unknown")),
)

SUB1 = Param("sub1", "string", _("Only items whose sub1 is exactly this (up to 64 "
                                 "characters)."))
UPDATED_SINCE = Param("updated_since", "integer", _(
    "Incremental sync: only exchanges whose status, accrual or reward changed at or after "
    "this moment (unix seconds), whenever they were created, in the order they changed. Pass "
    "the largest updated_time you have seen; start_time and end_time, if given too, still "
    "narrow by creation time."))

CLICK_FIELDS = (
    Field("id", "integer", _("click id")),
    *_time(_("when the visitor clicked")),
    Field("browser", "string", _("browser family and major version, or Unknown")),
    Field("ip", "string", _("the visitor's IP address, masked unless the operator keeps it "
                            "whole (IPv4 without its last octet)")),
    Field("referrer", "string", _("the page the visitor came from, or empty")),
    Field("user_hash", "string", _("a stable id of the visitor (also on its exchanges)")),
    Field("query_string", "string", _("the query string of your link, e.g. "
                                      "cur_from=PMUSD&cur_to=BTC")),
    *SOURCE_FIELDS,
)

STATUS_FIELDS = (*_time(_("when the status was set")),
                 Field("status", "string", _("new, paid, success, error or cancelled")))

EXCHANGE_FIELDS = (
    Field("id", "integer", _("exchange id")),
    *_time(_("when the exchange was created")),
    Field("course_give", "number", _("rate: the customer gives this much…")),
    Field("course_get", "number", _("…for this much (one side is usually 1)")),
    Field("amount_give", "number", _("what the customer gives")),
    Field("amount_get", "number", _("what the customer gets")),
    Field("exchange_success", "integer", _("1 when the exchange succeeded, else 0")),
    Field("accrued", "integer", _("1 when your reward for it is on your balance, else 0")),
    Field("partner_reward", "number", _("your reward in USD (0 until it is credited)")),
    Field("user_hash", "string", _("the visitor who made it (see get_links)")),
    Field("currency_code_give", "string", _("monitoring code of the currency given")),
    Field("currency_code_get", "string", _("monitoring code of the currency received")),
    Field("status", "string", _("new, paid, success, error or cancelled")),
    Field("statuses", "array", _("the status history, oldest first"), STATUS_FIELDS),
    *SOURCE_FIELDS[:5],
    Field("country", "string", _("the country of the click that brought it, ISO 3166 "
                                 "alpha-2, or empty when unknown")),
    Field("updated_time", "integer", _("the last change of status, accrual or reward, unix "
                                       "seconds (see updated_since)")),
)

PAYOUT_FIELDS = (
    Field("id", "integer", _("payout id")),
    *_time(_("when the payout was requested")),
    Field("method_id", "integer", _("the payout method (see get_info)")),
    Field("account", "string", _("where it is paid to")),
    Field("pay_amount", "number", _("what is paid, after the method's commission")),
    Field("pay_currency_code", "string", _("the currency paid")),
    Field("original_amount", "number", _("the balance taken for it")),
    Field("original_currency_code", "string", _("the balance's currency (USD)")),
    Field("status", "integer", _("0 pending, 1 paid, 2 refused, 3 cancelled by you")),
)

PAYOUT_METHOD_FIELDS = (
    Field("id", "integer", _("method id, for add_payout")),
    Field("title", "string", _("name of the method")),
    Field("comission", "string", _("the method's commission, as \"N%\"")),
    Field("amount", "number", _("what your whole balance would pay out by it now")),
)


def _items(what: Any, fields: tuple[Field, ...]) -> Field:
    return Field("items", "object",
                 lazy_format(_("%(what)s keyed by id ({} when there are none)"), what=what),
                 fields)


METHODS = (
    Method("get_info", _("Your account and payout methods"),
           _("Balance, what has been paid to you, your referral link and the payout methods "
             "you can use. No options."),
           data=(Field("balance", "number", _("your balance, USD (payable)")),
                 Field("balance_pending", "number",
                       _("rewards still in their holding period, not yet payable, USD")),
                 Field("totalReceived", "number", _("paid out to you so far, USD")),
                 Field("link", "string", _("your referral link")),
                 Field("min_payout", "number", _("the smallest balance you can ask to be "
                                                 "paid, USD")),
                 _items(_("payout methods"), PAYOUT_METHOD_FIELDS))),
    Method("get_exchanges", _("Exchanges of visitors you referred"),
           _("Every exchange attributed to you, oldest first, with its status history and "
             "the source (sub1…sub5, country) of the click that brought it. With "
             "updated_since: only those changed since, in the order they changed."),
           params=(*LIST_PARAMS, SUB1, UPDATED_SINCE),
           data=(_items(_("exchanges"), EXCHANGE_FIELDS),),
           example_options={"start_time": "1717200000", "end_time": "1717286399"}),
    Method("get_links", _("Clicks on your referral links"),
           _("Every click on your links, oldest first. Crawlers' clicks are left out."),
           params=(*LIST_PARAMS, Param("ip", "string", _("Only clicks from this address, "
                                                         "as get_links writes it.")), SUB1),
           data=(_items(_("clicks"), CLICK_FIELDS),),
           example_options={"start_time": "1717200000", "end_time": "1717286399"}),
    Method("get_payouts", _("Your payouts"),
           _("Your payout requests and what became of them, oldest first."),
           params=LIST_PARAMS, data=(_items(_("payouts"), PAYOUT_FIELDS),),
           example_options={"start_time": "1704067200"}),
    Method("add_payout", _("Ask for a payout"),
           _("Asks for a payout of your whole balance by a method from get_info. Below "
             "min_payout, an unknown method or an empty account is error 4 naming method_id, "
             "account or balance."),
           params=(Param("method_id", "integer", _("id of a payout method from get_info"),
                         required=True),
                   Param("account", "string", _("your account, wallet or card for it"),
                         required=True)),
           data=(Field("payout_id", "integer", _("id of the new payout (see get_payouts)")),),
           example_options={"method_id": "1", "account": "TQ3xExampleWallet"}),
)
METHOD_NAMES = tuple(m.name for m in METHODS)


def api_url() -> str:
    return public_url("/service/partner/api.php")
