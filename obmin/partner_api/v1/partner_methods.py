"""API v1's partner methods, answered from the same `Source` as api.php (live rows through
`live.LiveSource`, or the sandbox for a test key), so both endpoints always agree.

Only the skin differs: v1 lists are JSON arrays and a few fields have v1's names (`commission`,
`psys_give`); payout statuses are v1's three (0 pending, 1 paid, 2 cancelled).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from obmin.exchange.models import Currency, Exchange
from obmin.lib.money import plain
from obmin.partner_api import params, wire_names
from obmin.partner_api.envelope import number, string, time_fields
from obmin.partner_api.live import LiveSource
from obmin.partner_api.records import ClickRow, ExchangeRow, PayoutRow, Source, Window
from obmin.partner_api.sandbox import SandboxSource
from obmin.partner_api.v1.answer import bad_fields, ok, stream_list
from obmin.partner_api.v1.request import V1Request
from obmin.rewards.models import PayoutStatus
from obmin.rewards.selectors import partner_payouts


def source_of(request: V1Request) -> Source:
    key = request.api_key
    return SandboxSource(key) if key.is_test else LiveSource(request.partner)


def _one(request: V1Request, created_at: datetime | None, rows: Any,
         wanted: int, window: Window) -> Iterator[Any]:
    """The item with id `wanted`, if the window holds it. A live key reads only its creation
    moment's rows (found from the partner's own rows: another partner's id finds nothing); the
    sandbox is filtered as it is made."""
    if request.api_key.is_test:
        found = rows(Window())
    elif created_at is None:
        return iter(())
    else:
        found = rows(Window(start=created_at, end=created_at))
    return _paged((row for row in found if row.id == wanted), window)


def _id_param(options: dict[str, str]) -> int | None:
    return params.optional_int(options, "id", minimum=1, maximum=params.MAX_PAGE)


def test(request: V1Request) -> HttpResponseBase:
    partner = request.partner
    return ok({"ip": request.client_ip, "user_id": partner.user_id, "locale": request.locale,
               "partner_id": partner.pk})


def get_partner_info(request: V1Request) -> HttpResponseBase:
    info = source_of(request).info()
    return ok({
        "partner_id": request.partner.pk,
        "balance": info.balance,
        "min_payout": info.min_payout,
        "items": [{"id": m.id, "title": m.title,
                   "commission": f"{plain(m.commission_percent)}%", "amount": m.amount}
                  for m in info.methods],
    })


def _unkeyed(member: str) -> str:
    """An api.php item (`"id":{...}`) as a v1 list element (`{...}`): the same writer, so the
    two endpoints agree on every field, those added later included."""
    return member[member.index(":") + 1:]


def click_item(click: ClickRow) -> str:
    return _unkeyed(wire_names.click_item(click))


def get_partner_links(request: V1Request) -> HttpResponseBase:
    options = request.api_params
    window, ip = params.window(options), params.ip_filter(options)
    return stream_list(map(click_item, source_of(request).links(window, ip)))


def _exchange_writer(titles: dict[str, str], with_history: bool) -> Any:
    def item(exchange: ExchangeRow) -> str:
        if not with_history:
            exchange = exchange._replace(history=[])
        give, get = exchange.currency_give_code, exchange.currency_get_code
        # api.php's item, with v1's own fields in front (`user_ip`: the customer's address,
        # masked as partners see clicks' addresses).
        return (f'{{"psys_give":{string(titles.get(give, give))},'
                f'"psys_get":{string(titles.get(get, get))},'
                f'"user_ip":{string(exchange.user_ip)},'
                + _unkeyed(wire_names.exchange_item(exchange))[1:])

    return item


def get_partner_exchanges(request: V1Request) -> HttpResponseBase:
    options = request.api_params
    window, ip = params.window(options), params.ip_filter(options)
    wanted = _id_param(options)
    history = options.get("status_history", "1").strip()
    if history not in ("", "0", "1"):
        raise bad_fields({"status_history": _("0 or 1 is expected.")})
    rows: Iterator[ExchangeRow]
    source = source_of(request)
    if wanted is not None:
        created = (Exchange.objects.filter(partner=request.partner, pk=wanted)
                   .values_list("created_at", flat=True).first())
        rows = _one(request, created, lambda each: source.exchanges(each, ip), wanted, window)
    else:
        rows = source.exchanges(window, ip)
    titles = dict(Currency.objects.values_list("code", "title"))
    return stream_list(map(_exchange_writer(titles, history != "0"), rows))


def _paged(rows: Iterator[Any], window: Window) -> Iterator[Any]:
    """A window's offset and limit applied to rows already filtered (and its times)."""
    start, end = window.start, window.end
    kept = (row for row in rows
            if (start is None or row.created >= int(start.timestamp()))
            and (end is None or row.created <= int(end.timestamp())))
    stop = None if window.limit is None else window.offset + window.limit
    return islice(kept, window.offset, stop)


# v1 has three payout statuses: a refusal and a partner's own cancellation are both "cancelled".
V1_PAYOUT_STATUS = {PayoutStatus.PENDING: 0, PayoutStatus.PAID: 1,
                    PayoutStatus.REFUSED: 2, PayoutStatus.CANCELLED: 2}


def payout_item(payout: PayoutRow) -> str:
    return (
        f'{{"id":{payout.id},{time_fields(payout.created)},'
        f'"method_id":{payout.method_id},"account":{string(payout.account)},'
        f'"pay_amount":{number(payout.amount)},'
        f'"pay_currency_code":{string(payout.currency_code)},'
        f'"original_amount":{number(payout.original_amount)},'
        f'"original_currency_code":{string(payout.original_currency_code)},'
        f'"status":{V1_PAYOUT_STATUS.get(PayoutStatus(payout.status), 2)}}}'
    )


def get_partner_payouts(request: V1Request) -> HttpResponseBase:
    options = request.api_params
    window = params.window(options)
    wanted = _id_param(options)
    source = source_of(request)
    if wanted is None:
        return stream_list(map(payout_item, source.payouts(window)))
    created = (partner_payouts(request.partner).filter(pk=wanted)
               .values_list("created_at", flat=True).first())
    return stream_list(map(payout_item, _one(request, created, source.payouts, wanted, window)))


def add_partner_payout(request: V1Request) -> HttpResponseBase:
    options = request.api_params
    payout_id = source_of(request).add_payout(options.get("method_id", "").strip(),
                                              options.get("account", ""))
    return ok({"payout_id": payout_id})


