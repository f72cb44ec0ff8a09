"""API v1's partner methods, answered from the same `Source` as api.php (live rows through
`live.LiveSource`, or the sandbox for a test key), so both endpoints always agree.

Only the skin differs, written from v1's tables (`v1/table.py`): values are strings as
Premium's PHP sends them, lists are JSON arrays, a few fields have v1's names (`commission`,
`psys_give`), statuses are Premium's names and payout statuses v1's three (0 pending, 1 paid,
2 cancelled).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from itertools import islice
from typing import Any

from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from obmin.exchange.models import Currency, Exchange, ExchangeStatus
from obmin.lib.money import plain
from obmin.lib.replica import reads_from_replica
from obmin.partner_api import params
from obmin.partner_api.envelope import encode, unix_date
from obmin.partner_api.live import LiveSource
from obmin.partner_api.records import ClickRow, ExchangeRow, PayoutRow, Source, Window
from obmin.partner_api.sandbox import SandboxSource
from obmin.partner_api.v1.answer import bad_fields, ok, stream_list
from obmin.partner_api.v1.exchange_methods import status_filter
from obmin.partner_api.v1.request import V1Request
from obmin.partner_api.v1.statuses import premium_status
from obmin.partner_api.v1.table import BY_NAME, OMIT, shape
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


def _item_writer(method: str) -> Callable[[Mapping[str, Any]], str]:
    """One list item of `method` as JSON, shaped by its table (the `items` field)."""
    fields = next(f for f in BY_NAME[method].answer if f.name == "items").fields
    return lambda values: encode(shape(fields, values))


def test(request: V1Request) -> HttpResponseBase:
    partner = request.partner
    return ok(BY_NAME["test"].shape_data({
        "ip": request.client_ip, "user_id": partner.user_id, "locale": request.locale,
        "partner_id": partner.pk}))


def get_partner_info(request: V1Request) -> HttpResponseBase:
    info = source_of(request).info()
    return ok(BY_NAME["get_partner_info"].shape_data({
        "partner_id": request.partner.pk,
        "balance": info.balance,
        "min_payout": info.min_payout,
        "items": [{"id": m.id, "title": m.title,
                   "commission": f"{plain(m.commission_percent)}%", "amount": m.amount}
                  for m in info.methods],
    }))


def _source_values(row: ClickRow | ExchangeRow) -> dict[str, Any]:
    return {"sub1": row.sub1, "sub2": row.sub2, "sub3": row.sub3, "sub4": row.sub4,
            "sub5": row.sub5, "country": row.country}


@reads_from_replica  # the long histories, as api.php's get_links and get_exchanges
def get_partner_links(request: V1Request) -> HttpResponseBase:
    options = request.api_params
    window, ip = params.window(options), params.ip_filter(options)
    write = _item_writer("get_partner_links")
    return stream_list(write({
        "id": click.id, "time": click.created, "date": unix_date(click.created),
        "browser": click.browser, "ip": click.ip, "referrer": click.referrer,
        "user_hash": click.user_hash, "query_string": click.query_string,
        **_source_values(click)}) for click in source_of(request).links(window, ip))


def _exchange_values(exchange: ExchangeRow, titles: Mapping[str, str],
                     with_history: bool) -> dict[str, Any]:
    give, get = exchange.currency_give_code, exchange.currency_get_code
    return {
        "id": exchange.id, "time": exchange.created, "date": unix_date(exchange.created),
        "psys_give": titles.get(give, give), "psys_get": titles.get(get, get),
        "currency_code_give": give, "currency_code_get": get,
        "course_give": exchange.rate_give, "course_get": exchange.rate_get,
        "amount_give": exchange.amount_give, "amount_get": exchange.amount_get,
        "exchange_success": exchange.status == ExchangeStatus.SUCCESS,
        "accrued": exchange.reward_accrued, "partner_reward": exchange.partner_reward,
        "user_hash": exchange.user_hash, "user_ip": exchange.user_ip,
        "status": premium_status(exchange.status),
        "statuses": [{"time": moment, "date": unix_date(moment),
                      "status": premium_status(status)}
                     for moment, status in exchange.history] if with_history else OMIT,
        **_source_values(exchange), "updated_time": exchange.updated,
    }


@reads_from_replica
def get_partner_exchanges(request: V1Request) -> HttpResponseBase:
    options = request.api_params
    window, ip = params.window(options), params.ip_filter(options)
    wanted = _id_param(options)
    history = options.get("status_history", "").strip()
    if history not in ("", "0", "1"):
        raise bad_fields({"status_history": _("0 or 1 is expected.")})
    statuses = status_filter(options)
    rows: Iterator[ExchangeRow]
    source = source_of(request)
    if wanted is not None:
        created = (Exchange.objects.filter(partner=request.partner, pk=wanted)
                   .values_list("created_at", flat=True).first())
        rows = _one(request, created, lambda each: source.exchanges(each, ip), wanted, window)
    elif statuses is not None:
        # Filtered as the rows arrive, so the window's offset and limit count what is kept.
        rows = _paged((row for row in source.exchanges(Window(
            start=window.start, end=window.end), ip) if row.status in statuses), window)
    else:
        rows = source.exchanges(window, ip)
    titles = dict(Currency.objects.values_list("code", "title"))
    write = _item_writer("get_partner_exchanges")
    return stream_list(write(_exchange_values(row, titles, history == "1")) for row in rows)


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
    return _write_payout({
        "id": payout.id, "time": payout.created, "date": unix_date(payout.created),
        "method_id": payout.method_id, "account": payout.account,
        "pay_amount": payout.amount, "pay_currency_code": payout.currency_code,
        "original_amount": payout.original_amount,
        "original_currency_code": payout.original_currency_code,
        "status": V1_PAYOUT_STATUS.get(PayoutStatus(payout.status), 2)})


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
    return ok(BY_NAME["add_partner_payout"].shape_data({"payout_id": payout_id}))




_write_payout = _item_writer("get_partner_payouts")
