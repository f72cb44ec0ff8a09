"""API v1's exchange methods for bots and mini-apps: directions, a calculator, bids.

Directions are the exchange page's own (`exchange.selectors.active_directions`); a bid is
checked and created in `v1/bids.py` exactly as the exchange page does it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http.response import HttpResponseBase
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from obmin.exchange.accounts import EXAMPLES, AccountFormat
from obmin.exchange.models import Currency, Direction, Exchange, ExchangeStatus
from obmin.exchange.selectors import active_directions
from obmin.exchange.services import Quote, quote
from obmin.lib.money import plain
from obmin.lib.site import public_url
from obmin.lib.timeutil import to_unix, utc_date
from obmin.partner_api import params
from obmin.partner_api.models import ApiBid
from obmin.partner_api.v1.answer import (
    E_NO_BID,
    E_NO_DIRECTION,
    E_TOO_MANY,
    NO_BID,
    NO_DIRECTION,
    V1Error,
    bad_fields,
    ok,
)
from obmin.partner_api.v1.bids import (
    BidRefused,
    bid_cancel,
    bid_check_rate,
    bid_create,
    bid_of,
    bid_pay,
    bid_url,
    calc,
)
from obmin.partner_api.v1.request import V1Request

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
    if raw not in ("1", "2"):
        raise bad_fields({"calc_action": _("1 (the amount given) or 2 (the amount received) "
                                           "is expected.")})
    return int(raw)


def _direction(options: Mapping[str, str]) -> Direction:
    direction_id = _id(options, "direction_id", required=True)
    assert direction_id is not None  # required
    direction = (Direction.objects.active().select_related("currency_give", "currency_get")
                 .filter(pk=direction_id).first())
    if direction is None:
        raise V1Error(E_NO_DIRECTION, NO_DIRECTION)
    return direction


def _currency(currency: Currency) -> dict[str, Any]:
    # Obmin keeps no currency logos: `logo` is always "".
    return {"id": currency.pk, "title": currency.title, "logo": "", "code": currency.code}


def _filtered(options: Mapping[str, str]) -> list[Direction]:
    give = _id(options, "currency_id_give", required=False)
    get = _id(options, "currency_id_get", required=False)
    return [d for d in active_directions()
            if (give is None or d.currency_give_id == give)
            and (get is None or d.currency_get_id == get)]


def get_direction_currencies(request: V1Request) -> HttpResponseBase:
    directions = _filtered(request.api_params)
    gives = {d.currency_give_id: d.currency_give for d in directions}
    gets = {d.currency_get_id: d.currency_get for d in directions}
    return ok({"give": [_currency(c) for c in gives.values()],
               "get": [_currency(c) for c in gets.values()]})


def get_directions(request: V1Request) -> HttpResponseBase:
    return ok([{
        "direction_id": d.pk,
        "currency_give_id": d.currency_give_id, "currency_give_title": d.currency_give.title,
        "currency_give_logo": "",
        "currency_get_id": d.currency_get_id, "currency_get_title": d.currency_get.title,
        "currency_get_logo": "",
    } for d in _filtered(request.api_params)])


def _field(name: str, label: str, tooltip: str = "") -> dict[str, Any]:
    return {"name": name, "type": "input", "label": label, "req": 1, "tooltip": tooltip}


def get_direction(request: V1Request) -> HttpResponseBase:
    d = _direction(request.api_params)
    give, get = d.currency_give, d.currency_get
    lowest = quote(d, d.min_amount).amount_get if d.min_amount > 0 else Decimal(0)
    account_format = AccountFormat(get.account_format)
    example = EXAMPLES[get.account_format]
    tooltip = str(account_format.label) + (f" ({example})" if example else "")
    return ok({
        "id": d.pk,
        "url": public_url("/exchange/?" + urlencode({"cur_from": give.code,
                                                     "cur_to": get.code})),
        "currency_code_give": give.code, "currency_code_get": get.code,
        "reserve": get.reserve,
        "course_give": d.rate_give, "course_get": d.rate_get,
        "min_give": d.min_amount if d.min_amount > 0 else "no",
        "max_give": d.max_amount if d.max_amount > 0 else "no",
        "min_get": lowest if d.min_amount > 0 else "no",
        "max_get": quote(d, d.max_amount).amount_get if d.max_amount > 0 else "no",
        "give_fields": [],
        "get_fields": [_field("account2", _("Your account / wallet to receive"), tooltip)],
        "dir_fields": [_field("cf6", _("E-mail"))],
    })


def _calc_data(q: Quote, changed: bool) -> dict[str, Any]:
    d = q.direction
    return {"sum_give": q.amount_give, "sum_get": q.amount_get, "course_give": d.rate_give,
            "course_get": d.rate_get, "reserve": d.currency_get.reserve,
            "changed": 1 if changed else 0}


def get_calc(request: V1Request) -> HttpResponseBase:
    options = request.api_params
    direction = _direction(options)
    amount, action = _amount(options), _action(options)
    result = calc(direction, amount, action)
    return ok(_calc_data(result.quote, result.changed))


def bid_data(exchange: Exchange, api_id: str = "") -> dict[str, Any]:
    is_new = exchange.status == ExchangeStatus.NEW
    give = exchange.currency_give.code
    memo = f" ({_('memo')}: {exchange.pay_memo})" if exchange.pay_memo else ""
    instruction = (_("Send %(amount)s %(code)s to %(pay_to)s%(memo)s, then press “I have "
                     "paid”.") % {"amount": plain(exchange.amount_give), "code": give,
                                  "pay_to": exchange.pay_to or "-", "memo": memo}
                   if is_new else "")
    return {
        "id": exchange.pk, "hash": exchange.token, "url": bid_url(exchange),
        "api_id": api_id,
        "time": to_unix(exchange.created_at), "date": utc_date(exchange.created_at),
        "status": exchange.status, "status_title": str(exchange.get_status_display()),
        "amount_give": exchange.amount_give, "amount_get": exchange.amount_get,
        "currency_code_give": give, "currency_code_get": exchange.currency_get.code,
        "account2": exchange.account_get,
        "api_actions": {
            "type": "address", "cancel": 1 if is_new else 0, "pay": 1 if is_new else 0,
            "instruction": instruction, "pay_amount": exchange.amount_give,
            "pay_to": exchange.pay_to, "pay_memo": exchange.pay_memo,
        },
    }


def create_bid(request: V1Request) -> HttpResponseBase:
    options = request.api_params
    direction = _direction(options)
    amount, action = _amount(options), _action(options)
    partner_id = _id(options, "partner_id", required=False)
    callback_url = options.get("callback_url", "").strip()
    if len(callback_url) > 500:
        raise bad_fields({"callback_url": _("At most 500 characters.")})
    missing = {name: _("This parameter is required.") for name in ("account2", "cf6")
               if not options.get(name, "").strip()}
    if missing:
        raise bad_fields(missing)
    refusal = bid_check_rate(key=request.api_key, client_ip=request.client_ip)
    if refusal is not None:
        raise V1Error(E_TOO_MANY, refusal, status=429, retry_after=60)
    api_id = options.get("api_id", "").strip()[:100]
    try:
        made = bid_create(key=request.api_key, direction=direction, amount=amount,
                          action=action, account=options["account2"].strip(),
                          email=options["cf6"].strip(), partner_id=partner_id, api_id=api_id,
                          callback_url=callback_url, client_ip=request.client_ip)
    except BidRefused as refused:
        raise bad_fields(refused.fields) from None
    if isinstance(made, Quote):
        # A test key: checked like a real bid, but nothing is created.
        return ok({"id": 0, "hash": "", "url": "", "api_id": api_id, "status": "new",
                   "status_title": str(ExchangeStatus.NEW.label),
                   "amount_give": made.amount_give, "amount_get": made.amount_get,
                   "currency_code_give": direction.currency_give.code,
                   "currency_code_get": direction.currency_get.code,
                   "api_actions": {"type": "address", "cancel": 0, "pay": 0,
                                   "instruction": _("A test key's bid: nothing was created."),
                                   "pay_amount": made.amount_give}})
    return ok(bid_data(made, api_id))


def _own_bid(request: V1Request, *, by_id: bool) -> Exchange:
    options = request.api_params
    bid_id = _id(options, "id", required=False) if by_id else None
    token = options.get("hash", "").strip()[:64]
    if bid_id is None and not token:
        raise bad_fields({"hash" if not by_id else "id": _("This parameter is required.")})
    exchange = bid_of(key=request.api_key, bid_id=bid_id, token=token)
    if exchange is None:
        raise V1Error(E_NO_BID, NO_BID)
    return exchange


def _api_id(exchange: Exchange) -> str:
    return ApiBid.objects.filter(pk=exchange.pk).values_list("api_id", flat=True).first() or ""


def bid_info(request: V1Request) -> HttpResponseBase:
    exchange = _own_bid(request, by_id=True)
    return ok(bid_data(exchange, _api_id(exchange)))


def cancel_bid(request: V1Request) -> HttpResponseBase:
    exchange = _own_bid(request, by_id=False)
    try:
        bid_cancel(exchange=exchange)
    except BidRefused as refused:
        raise bad_fields(refused.fields) from None
    exchange.refresh_from_db()
    return ok(bid_data(exchange, _api_id(exchange)))


def pay_bid(request: V1Request) -> HttpResponseBase:
    exchange = _own_bid(request, by_id=False)
    try:
        bid_pay(exchange=exchange)
    except BidRefused as refused:
        raise bad_fields(refused.fields) from None
    exchange.refresh_from_db()
    return ok(bid_data(exchange, _api_id(exchange)))


def get_exchanges(request: V1Request) -> HttpResponseBase:
    """The key's own bids, oldest first, within `start_time`/`end_time`, `offset`, `limit`."""
    window = params.window(request.api_params)
    mine = ApiBid.objects.filter(api_key=request.api_key)
    exchanges = list(window.page(
        Exchange.objects.filter(pk__in=mine.values("exchange_id"))
        .select_related("currency_give", "currency_get").order_by("created_at", "id")))
    api_ids = dict(mine.filter(pk__in=[e.pk for e in exchanges])
                   .values_list("exchange_id", "api_id"))
    return ok({"items": [bid_data(e, api_ids.get(e.pk, "")) for e in exchanges]})
