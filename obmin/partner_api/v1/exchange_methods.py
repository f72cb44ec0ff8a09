"""API v1's exchange methods for bots and mini-apps: directions, a calculator, bids.

Directions are the exchange page's own (`exchange.selectors.active_directions`); a bid is
checked and created in `v1/bids.py` exactly as the exchange page does it. Each handler reads
its parameters, gathers its values under the field names of its table (`v1/table.py`) and
answers `table.shape` of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from obmin.exchange.accounts import EXAMPLES, AccountFormat
from obmin.exchange.models import (
    Currency,
    Direction,
    Exchange,
    ExchangeStatus,
    ExchangeStatusChange,
)
from obmin.exchange.selectors import AskedField, active_directions, direction_fields
from obmin.lib.ipmask import normalize_ip
from obmin.lib.money import plain, quantize
from obmin.lib.site import public_url
from obmin.lib.timeutil import to_unix, utc_date
from obmin.partner_api import params
from obmin.partner_api.models import ApiBid
from obmin.partner_api.v1.answer import (
    E_NO_BID,
    E_NO_DIRECTION,
    E_TOO_MANY,
    METHOD_NOT_SUPPORTED,
    NO_BID,
    NO_DIRECTION,
    V1Error,
    bad_fields,
    ok,
)
from obmin.partner_api.v1.bids import (
    BidRefused,
    BidRequest,
    Calc,
    bid_cancel,
    bid_complete,
    bid_create,
    bid_customer_refusal,
    bid_key_refusal,
    bid_of,
    bid_pay,
    bid_url,
    calc,
)
from obmin.partner_api.v1.request import V1Request
from obmin.partner_api.v1.statuses import (
    FROM_PREMIUM,
    PREMIUM_TITLES,
    premium_status,
    premium_title,
)
from obmin.partner_api.v1.table import BY_NAME, OMIT

AMOUNT = re.compile(r"[0-9]{1,20}(?:[.,][0-9]{1,10})?")
ID = re.compile(r"[0-9]{1,15}")


def _id(options: Mapping[str, str], name: str, *, required: bool) -> int | None:
    raw = options.get(name, "").strip()
    if raw == "":
        if required:
            raise bad_fields({name: _("This parameter is required.")})
        return None
    if not ID.fullmatch(raw) or int(raw) < 1:
        raise bad_fields({name: _("A whole number from 1 is expected.")})
    return int(raw)


def _id_list(options: Mapping[str, str], name: str) -> list[int]:
    """`1` or `1,2,3` (Premium reads a comma-separated list); empty when not given."""
    raw = options.get(name, "").strip()
    if not raw:
        return []
    parts = [part.strip() for part in raw.split(",")]
    if len(parts) > 500 or not all(ID.fullmatch(part) and int(part) >= 1 for part in parts):
        raise bad_fields({name: _("A whole number from 1 is expected.")})
    return [int(part) for part in parts]


def _amount(options: Mapping[str, str], name: str = "calc_amount") -> Decimal:
    raw = options.get(name, "").strip()
    if raw == "":
        raise bad_fields({name: _("This parameter is required.")})
    if not AMOUNT.fullmatch(raw):
        raise bad_fields({name: _("A number such as 100 or 0.015 is expected.")})
    try:
        amount = Decimal(raw.replace(",", "."))
    except InvalidOperation:  # the pattern admits none, but a Decimal is never guessed
        raise bad_fields({name: _("A number such as 100 or 0.015 is expected.")}) from None
    if amount <= 0:
        raise bad_fields({name: _("Enter an amount greater than zero.")})
    return amount


def _action(options: Mapping[str, str]) -> int:
    raw = options.get("calc_action", "").strip() or "1"
    if raw not in ("1", "2", "3", "4"):
        raise bad_fields({"calc_action": _("1, 2, 3 or 4 is expected.")})
    return int(raw)


def _flag(options: Mapping[str, str], name: str) -> bool:
    raw = options.get(name, "").strip()
    if raw not in ("", "0", "1"):
        raise bad_fields({name: _("0 or 1 is expected.")})
    return raw == "1"


def _user_ip(options: Mapping[str, str]) -> str:
    raw = options.get("user_ip", "").strip()
    if raw and not normalize_ip(raw):
        raise bad_fields({"user_ip": _("An IPv4 or IPv6 address is expected.")})
    return normalize_ip(raw) if raw else ""


def _active() -> Any:
    """Directions a bot may see and bid on: a rate the market sync withholds (stale or failed
    sources, a jump waiting for the operator) is never shown, as in the export."""
    return Direction.objects.offered(timezone.now()).select_related("currency_give",
                                                                    "currency_get")


def _direction(options: Mapping[str, str]) -> Direction:
    direction_id = _id(options, "direction_id", required=True)
    direction = _active().filter(pk=direction_id).first()
    if direction is None:
        raise V1Error(E_NO_DIRECTION, NO_DIRECTION)
    return direction


def _direction_by_id_or_pair(options: Mapping[str, str]) -> Direction:
    """get_direction: by `direction_id`, or by `currency_id_give` + `currency_id_get`."""
    if options.get("direction_id", "").strip():
        return _direction(options)
    give = _id(options, "currency_id_give", required=False)
    get = _id(options, "currency_id_get", required=False)
    if give is None or get is None:
        raise bad_fields({"direction_id": _("Give direction_id, or currency_id_give and "
                                            "currency_id_get.")})
    direction = (_active().filter(currency_give_id=give, currency_get_id=get)
                 .order_by("city", "id").first())
    if direction is None:
        raise V1Error(E_NO_DIRECTION, NO_DIRECTION)
    return direction


def _filtered(options: Mapping[str, str]) -> list[Direction]:
    give = _id(options, "currency_id_give", required=False)
    get = _id(options, "currency_id_get", required=False)
    return [d for d in active_directions()
            if (give is None or d.currency_give_id == give)
            and (get is None or d.currency_get_id == get)]


def _answer(method: str, values: Any) -> HttpResponseBase:
    return ok(BY_NAME[method].shape_data(values), error=BY_NAME[method].success_error)


def _currency(currency: Currency) -> dict[str, Any]:
    # Obmin keeps no currency logos: `logo` is always "".
    return {"id": currency.pk, "title": currency.title, "logo": "", "code": currency.code}


def get_direction_currencies(request: V1Request) -> HttpResponseBase:
    directions = _filtered(request.api_params)
    gives = {d.currency_give_id: d.currency_give for d in directions}
    gets = {d.currency_get_id: d.currency_get for d in directions}
    return _answer("get_direction_currencies", {
        "give": [_currency(c) for c in gives.values()],
        "get": [_currency(c) for c in gets.values()]})


def get_directions(request: V1Request) -> HttpResponseBase:
    return _answer("get_directions", [{
        "direction_id": d.pk,
        "currency_give_id": d.currency_give_id, "currency_give_title": d.currency_give.title,
        "currency_give_logo": "",
        "currency_get_id": d.currency_get_id, "currency_get_title": d.currency_get.title,
        "currency_get_logo": "",
    } for d in _filtered(request.api_params)])


def _amounts(d: Direction, result: Calc) -> dict[str, Any]:
    """Premium's amounts, rates, commissions and limits of a calculation."""
    give, get = d.currency_give, d.currency_get
    q = result.quote
    lowest = calc(d, d.min_amount, 3).quote.amount_get if d.min_amount > 0 else None
    highest = calc(d, d.max_amount, 3).quote.amount_get if d.max_amount > 0 else None
    return {
        "currency_code_give": give.code, "currency_code_get": get.code,
        "reserve": get.reserve, "course_give": d.rate_give, "course_get": d.rate_get,
        "sum_give": result.sum_give, "sum_give_com": q.amount_give,
        "sum_get": result.sum_get, "sum_get_com": q.amount_get,
        "com_give": f"{plain(d.fee_give_percent)}%" if d.fee_give_percent else "",
        "com_get": f"{plain(d.fee_get)} {get.code}" if d.fee_get else "",
        "min_give": d.min_amount if d.min_amount > 0 else "no",
        "max_give": d.max_amount if d.max_amount > 0 else "no",
        "min_get": "no" if lowest is None else lowest,
        "max_get": "no" if highest is None else highest,
    }


def _field(asked: AskedField, tooltip: str = "") -> dict[str, Any]:
    # "text": Premium's type of a one-line input (its Telegram module knows text, textarea,
    # select and checkbox, and skips any other).
    return {"name": asked.name, "type": "text", "label": asked.label, "req": asked.required,
            "tooltip": asked.tooltip or tooltip, "options": {}, "cd": 0}


def _instructions(d: Direction) -> str:
    details = d.payment_details()
    uk = (get_language() or "").startswith("uk")
    return (details.instructions_uk if uk and details.instructions_uk
            else details.instructions)


def get_direction(request: V1Request) -> HttpResponseBase:
    d = _direction_by_id_or_pair(request.api_params)
    give, get = d.currency_give, d.currency_get
    example = EXAMPLES[get.account_format]
    account_hint = str(AccountFormat(get.account_format).label) + (
        f" ({example})" if example else "")
    sides: dict[str, dict[str, Any]] = {"give": {}, "get": {}, "dir": {}}
    for asked in direction_fields(d):
        hint = account_hint if asked.name == "account2" else ""
        sides[asked.side][asked.name] = _field(asked, hint)
    start = d.min_amount if d.min_amount > 0 else Decimal(1)
    return _answer("get_direction", {
        "id": d.pk,
        "url": public_url("/exchange/?" + urlencode({"cur_from": give.code,
                                                     "cur_to": get.code})),
        **_amounts(d, calc(d, start, 3)),
        "info": {"timeline_text": _instructions(d), "frozen_text": "",
                 "before_button_text": ""},
        "give_fields": sides["give"], "get_fields": sides["get"], "dir_fields": sides["dir"],
    })


def get_calc(request: V1Request) -> HttpResponseBase:
    options = request.api_params
    direction = _direction(options)
    amount, action = _amount(options), _action(options)
    result = calc(direction, amount, action)
    return _answer("get_calc", {**_amounts(direction, result), "changed": result.changed})


def _api_actions(exchange: Exchange) -> dict[str, Any]:
    """What the customer may do next: Premium's `api`, `disabled` or a URL to open."""
    is_new = exchange.status == ExchangeStatus.NEW
    automatic = exchange.direction.automatic_payment
    give = exchange.currency_give.code
    amount = plain(quantize(exchange.amount_give, exchange.currency_give.decimals))
    if not is_new:
        instruction = ""
    elif automatic:
        instruction = _("Pay %(amount)s %(code)s on the exchange's page: %(url)s") % {
            "amount": amount, "code": give, "url": bid_url(exchange)}
    else:
        memo = f" ({_('memo')}: {exchange.pay_memo})" if exchange.pay_memo else ""
        instruction = (_("Send %(amount)s %(code)s to %(pay_to)s%(memo)s, then press “I have "
                         "paid”.") % {"amount": amount, "code": give,
                                      "pay_to": exchange.pay_to or "-", "memo": memo})
    pay = "disabled"
    if is_new:
        pay = bid_url(exchange) if automatic else "api"
    # Premium's types: "link" (pay on a page), "address" (send to an address), "finished"
    # (nothing left to pay: Premium's Telegram module then shows no payment and no buttons).
    kind = "finished" if not is_new else "link" if automatic else "address"
    return {"type": kind,
            "cancel": "api" if is_new else "disabled", "pay": pay,
            "instruction": instruction, "pay_amount": exchange.amount_give,
            "address": "" if automatic else exchange.pay_to,
            "dest_tag": exchange.pay_memo, "memo": exchange.pay_memo}


def bid_values(exchange: Exchange, api_id: str = "") -> dict[str, Any]:
    return {
        "id": exchange.pk, "hash": exchange.token, "url": bid_url(exchange),
        "api_id": api_id,
        "status": premium_status(exchange.status),
        "status_title": premium_title(exchange.status),
        "psys_give": exchange.currency_give.title, "psys_get": exchange.currency_get.title,
        "amount_give": exchange.amount_give, "amount_get": exchange.amount_get,
        "course_give": exchange.rate_give, "course_get": exchange.rate_get,
        "currency_code_give": exchange.currency_give.code,
        "currency_code_get": exchange.currency_get.code,
        "api_actions": _api_actions(exchange),
    }


def _fields_given(options: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in options.items()
            if name.startswith(("account", "cf"))}


def create_bid(request: V1Request) -> HttpResponseBase:
    options = request.api_params
    refusal = bid_key_refusal(key=request.api_key)
    if refusal is not None:
        raise V1Error(E_TOO_MANY, refusal.message, status=429, retry_after=refusal.retry_after)
    direction = _direction(options)
    amount, action = _amount(options), _action(options)
    partner_id = _id(options, "partner_id", required=False)
    user_ip = _user_ip(options)
    callback_url = options.get("callback_url", "").strip()
    if len(callback_url) > 500:
        raise bad_fields({"callback_url": _("At most 500 characters.")})
    refusal = bid_customer_refusal(user_ip=user_ip)
    if refusal is not None:
        raise V1Error(E_TOO_MANY, refusal.message, status=429, retry_after=refusal.retry_after)
    api_id = options.get("api_id", "").strip()[:100]
    try:
        made = bid_create(key=request.api_key, bid=BidRequest(
            direction=direction, amount=amount, action=action,
            fields=_fields_given(options), partner_id=partner_id, api_id=api_id,
            callback_url=callback_url, user_ip=user_ip or request.client_ip))
    except BidRefused as refused:
        raise bad_fields(refused.fields) from None
    if isinstance(made, Calc):
        # A test key: checked like a real bid, but nothing is created.
        return _answer("create_bid", {
            "id": 0, "hash": "", "url": "", "api_id": api_id, "status": "new",
            "status_title": str(PREMIUM_TITLES["new"]),
            "psys_give": direction.currency_give.title,
            "psys_get": direction.currency_get.title,
            "amount_give": made.quote.amount_give, "amount_get": made.quote.amount_get,
            "course_give": direction.rate_give, "course_get": direction.rate_get,
            "currency_code_give": direction.currency_give.code,
            "currency_code_get": direction.currency_get.code,
            "api_actions": {"type": "address", "cancel": "disabled", "pay": "disabled",
                            "instruction": _("A test key's bid: nothing was created."),
                            "pay_amount": made.quote.amount_give, "address": "",
                            "dest_tag": "", "memo": ""}})
    return _answer("create_bid", bid_values(made, api_id))


def _own_bid(request: V1Request, *, missing: str) -> Exchange:
    """The key's bid by `id` or else `hash`, as Premium reads both; neither is a refusal
    naming `missing`."""
    options = request.api_params
    bid_id = _id(options, "id", required=False)
    token = options.get("hash", "").strip()[:64]
    if bid_id is None and not token:
        raise bad_fields({missing: _("This parameter is required.")})
    exchange = bid_of(key=request.api_key, bid_id=bid_id, token=token)
    if exchange is None:
        raise V1Error(E_NO_BID, NO_BID)
    return exchange


def _api_id(exchange: Exchange) -> str:
    return ApiBid.objects.filter(pk=exchange.pk).values_list("api_id", flat=True).first() or ""


def bid_info(request: V1Request) -> HttpResponseBase:
    exchange = _own_bid(request, missing="id")
    return _answer("bid_info", bid_values(exchange, _api_id(exchange)))


def _moved(request: V1Request, method: str, move: Any, target: str) -> HttpResponseBase:
    """`data` is the bid's status after the move, Premium's name, as its PHP answers; a bid
    already in `target` answers the same (a bot retrying after a timeout is not refused)."""
    exchange = _own_bid(request, missing="hash")
    if exchange.status != target:
        try:
            exchange = move(exchange=exchange)
        except BidRefused as refused:
            # Two retries side by side: the other one made the move meanwhile.
            exchange.refresh_from_db(fields=["status"])
            if exchange.status != target:
                raise bad_fields(refused.fields) from None
    return _answer(method, premium_status(exchange.status))


def cancel_bid(request: V1Request) -> HttpResponseBase:
    return _moved(request, "cancel_bid", bid_cancel, ExchangeStatus.CANCELLED)


def pay_bid(request: V1Request) -> HttpResponseBase:
    return _moved(request, "pay_bid", bid_pay, ExchangeStatus.PAID)


def success_bid(request: V1Request) -> HttpResponseBase:
    if not request.api_key.may_complete_bids:
        raise V1Error(3, METHOD_NOT_SUPPORTED)
    return _moved(request, "success_bid", bid_complete, ExchangeStatus.SUCCESS)


def status_filter(options: Mapping[str, str]) -> list[str] | None:
    """`status`: Premium's names (comma-separated) as Obmin's statuses; None when not asked.
    A name Premium has but Obmin never reaches selects nothing; an unknown one is refused."""
    raw = options.get("status", "").strip()
    if not raw:
        return None
    names = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in names if name not in PREMIUM_TITLES]
    if unknown:
        raise bad_fields({"status": _("Unknown status %(names)s; Premium's names are "
                                      "expected (new, payed, success...).")
                          % {"names": ", ".join(unknown)}})
    return [FROM_PREMIUM[name] for name in names if name in FROM_PREMIUM]


def exchange_history(exchanges: list[Exchange]) -> dict[int, list[dict[str, Any]]]:
    history: dict[int, list[dict[str, Any]]] = {e.pk: [] for e in exchanges}
    for change in ExchangeStatusChange.objects.filter(exchange__in=exchanges).order_by(
            "exchange_id", "created_at", "id"):
        history[change.exchange_id].append({
            "time": to_unix(change.created_at), "date": utc_date(change.created_at),
            "status": premium_status(change.status)})
    return history


def get_exchanges(request: V1Request) -> HttpResponseBase:
    """The key's own bids, newest first, with every documented filter applied."""
    options = request.api_params
    window = params.window(options)
    wanted = _id_list(options, "id")
    ip = params.ip_filter(options)
    with_history = _flag(options, "status_history")
    statuses = status_filter(options)
    given_api_id = options.get("api_id", "").strip()
    api_ids = [each.strip() for each in given_api_id.split(",") if each.strip()]
    if any(len(each) > 100 for each in api_ids) or len(api_ids) > 500:
        raise bad_fields({"api_id": _("At most 100 characters.")})
    token = options.get("hash", "").strip()
    mine = ApiBid.objects.filter(api_key=request.api_key)
    if api_ids:
        # An api_id with a comma of its own (create_bid keeps it) is looked up whole too.
        mine = mine.filter(api_id__in=[*api_ids, given_api_id[:100]])
    exchanges = (Exchange.objects.filter(pk__in=mine.values("exchange_id"))
                 .select_related("currency_give", "currency_get")
                 .order_by("-created_at", "-id"))
    if wanted:
        exchanges = exchanges.filter(pk__in=wanted)
    if token:
        exchanges = exchanges.filter(token=token[:64])
    if statuses is not None:
        exchanges = exchanges.filter(status__in=statuses)
    if ip:
        exchanges = exchanges.filter(user_ip=ip)
    page = list(window.page(exchanges))
    own_ids = dict(mine.filter(pk__in=[e.pk for e in page])
                   .values_list("exchange_id", "api_id"))
    history = exchange_history(page) if with_history else {}
    partner_id = request.api_key.partner_id
    return _answer("get_exchanges", {"items": [{
        "id": e.pk, "api_id": own_ids.get(e.pk, ""), "hash": e.token,
        "time": to_unix(e.created_at), "date": utc_date(e.created_at),
        "psys_give": e.currency_give.title, "psys_get": e.currency_get.title,
        "currency_code_give": e.currency_give.code, "currency_code_get": e.currency_get.code,
        "course_give": e.rate_give, "course_get": e.rate_get,
        "amount_give": e.amount_give, "amount_get": e.amount_get,
        "exchange_success": e.status == ExchangeStatus.SUCCESS,
        # Another partner's reward (a bid the operator's key credited to it) is not shown.
        "accrued": e.reward_accrued and e.partner_id == partner_id,
        "partner_reward": e.partner_reward if e.partner_id == partner_id else 0,
        # The key's own bids: the address its bot gave (or its own), as given.
        "user_hash": e.user_hash, "user_ip": e.user_ip or "",
        "status": premium_status(e.status),
        "statuses": history[e.pk] if with_history else OMIT,
    } for e in page]})

