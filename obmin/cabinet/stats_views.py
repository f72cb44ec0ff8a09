"""The cabinet's statistics: the period and time zone every report page takes, the statistics
page (totals beside the previous period, a series chart, breakdowns), the tables of clicks,
exchanges, ledger entries and payouts, and their CSV downloads.

Every read goes through `obmin.stats.selectors` with `request.partner`'s id: a partner sees only
its own rows, and the CSV holds exactly what the page's filters select, all pages of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from obmin.cabinet.decorators import PartnerRequest, partner_required
from obmin.exchange.models import ExchangeStatus
from obmin.lib.csvsafe import csv_response
from obmin.lib.money import plain
from obmin.lib.replica import reads_from_replica
from obmin.lib.text import ascii_digits
from obmin.partners.sources import clean_value
from obmin.rewards.models import EntryKind, PayoutStatus
from obmin.rewards.selectors import reward_states
from obmin.stats import selectors
from obmin.stats.dimensions import PLAIN
from obmin.stats.periods import KINDS, Period, period_from_query, zone_of
from obmin.stats.selectors import BREAKDOWNS, DIRECTION, ClickFilter, Figures, Row

PAGE_SIZE = 50
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# The browser's zone, set by cabinet/stats.js, used when the partner has chosen none.
ZONE_COOKIE = "tz"
EVER = datetime(2000, 1, 1, tzinfo=UTC)
FOREVER = datetime(2200, 1, 1, tzinfo=UTC)


def zone_for(request: PartnerRequest) -> tzinfo:
    return zone_of(request.partner.time_zone, request.COOKIES.get(ZONE_COOKIE, ""))


def report_period(request: PartnerRequest) -> tuple[Period, str]:
    return period_from_query(request.GET, now=timezone.now(), zone=zone_for(request))


def period_context(request: PartnerRequest, period: Period, error: str) -> dict[str, Any]:
    return {"partner": request.partner, "period": period, "period_error": error,
            "kinds": list(KINDS.items()), "zone_name": str(period.zone),
            "zone_chosen": bool(request.partner.time_zone)}


def local(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime(TIME_FORMAT)


def _page(request: PartnerRequest, rows: QuerySet[Any], period: Period) -> dict[str, Any]:
    """Offset paging without counting (a year of clicks is a million rows): one row more than
    a page tells whether there is a next one. `csv_query` downloads every row of the filters
    and of the days shown."""
    try:
        number = max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        number = 1
    items = list(rows[(number - 1) * PAGE_SIZE:number * PAGE_SIZE + 1])
    query = request.GET.copy()
    query.pop("page", None)
    filters = query.copy()
    for name in ("period", "from", "to"):
        filters.pop(name, None)
    csv_query = period.days_query() + (f"&{filters.urlencode()}" if filters else "")
    return {"items": items[:PAGE_SIZE], "number": number, "has_next": len(items) > PAGE_SIZE,
            "has_previous": number > 1, "query": query.urlencode(), "csv_query": csv_query}


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


# --- statistics -----------------------------------------------------------------------------


def breakdown_names() -> dict[str, str]:
    names = {name: name for name in PLAIN}
    names.update({"country": _("Country"), DIRECTION: _("Direction"), "browser": _("Browser"),
                  "referrer": _("Referrer domain")})
    return names


def chart_data(rows: list[Row]) -> dict[str, list[Any]]:
    return {"labels": [r.key for r in rows],
            "clicks": [r.figures.unique_clicks for r in rows],
            "exchanges": [r.figures.successful for r in rows]}


def dashboard_context(request: PartnerRequest) -> dict[str, Any]:
    """The period, its totals beside the previous period's, and the series chart."""
    period, error = report_period(request)
    rows = selectors.series(partner_id=request.partner.pk, period=period)
    return {**period_context(request, period, error),
            "compare": selectors.comparison(partner_id=request.partner.pk, period=period),
            "chart": chart_data(rows), "bucket": selectors.bucket_size(period)}


@partner_required
@reads_from_replica
def statistics(request: PartnerRequest) -> HttpResponse:
    period, error = report_period(request)
    names = breakdown_names()
    by = request.GET.get("by") or "sub1"
    if by not in names:
        by = "sub1"
    partner_id = request.partner.pk
    series = selectors.series(partner_id=partner_id, period=period)
    rows = selectors.breakdown(partner_id=partner_id, dimension=by, period=period)
    return render(request, "cabinet/statistics.html", {
        **period_context(request, period, error),
        "compare": selectors.comparison(partner_id=partner_id, period=period),
        "series": series, "chart": chart_data(series), "bucket": selectors.bucket_size(period),
        "by": by, "by_name": names[by], "breakdowns": list(names.items()),
        "rows": rows[:100], "more_rows": len(rows) > 100,
        "breakdown_chart": {"labels": [r.key or "—" for r in rows[:15]],
                            "clicks": [r.figures.unique_clicks for r in rows[:15]],
                            "exchanges": [r.figures.successful for r in rows[:15]]},
    })


FIGURE_HEADER = ["clicks", "unique_clicks", "exchanges", "successful_exchanges",
                 "conversion_percent", "turnover_usd", "rewards_usd", "epc_usd"]


def _figure_cells(f: Figures) -> list[Any]:
    return [f.clicks, f.unique_clicks, f.exchanges, f.successful,
            "" if f.conversion is None else f.conversion, _money(f.turnover),
            _money(f.rewards), _money(f.epc)]


@partner_required
@reads_from_replica
def statistics_csv(request: PartnerRequest) -> StreamingHttpResponse:
    period, _error = report_period(request)
    by = request.GET.get("by") or "day"
    partner_id = request.partner.pk
    if by == "day":
        rows = selectors.series(partner_id=partner_id, period=period)
        first = selectors.bucket_size(period)
    elif by in BREAKDOWNS:
        rows = selectors.breakdown(partner_id=partner_id, dimension=by, period=period)
        first = by
    else:
        raise Http404
    return csv_response(f"statistics-{by}-{period.first}-{period.last}.csv",
                        [first, *FIGURE_HEADER],
                        ([r.key, *_figure_cells(r.figures)] for r in rows))


# --- clicks ---------------------------------------------------------------------------------


SUB_FILTERS = ("sub1", "sub2", "sub3", "sub4", "sub5", "utm_source", "utm_medium",
               "utm_campaign")


def filter_text(request: PartnerRequest, name: str, limit: int) -> str:
    """A list filter's text as the stored values are kept: printable characters only (a NUL,
    which PostgreSQL refuses in a query, was a 500; an invisible one found nothing), trimmed
    and cut to `limit`."""
    return clean_value(request.GET.get(name, ""), limit)


def click_filter(request: PartnerRequest) -> ClickFilter:
    unique = {"yes": True, "no": False}.get(request.GET.get("unique", ""))
    return ClickFilter(sub={name: filter_text(request, name, 64) for name in SUB_FILTERS},
                       country=filter_text(request, "country", 2),
                       browser=filter_text(request, "browser", 64),
                       referrer=filter_text(request, "referrer", 200), unique=unique)


def _clicks(request: PartnerRequest) -> tuple[Period, str, QuerySet[Any]]:
    period, error = report_period(request)
    clicks = selectors.click_list(partner_id=request.partner.pk, start=period.start,
                                  end=period.end, filters=click_filter(request))
    return period, error, clicks


@partner_required
@reads_from_replica
def clicks(request: PartnerRequest) -> HttpResponse:
    period, error, rows = _clicks(request)
    page = _page(request, rows.values_list(*selectors.ClickItem._fields), period)
    page["items"] = [selectors.ClickItem._make(row) for row in page["items"]]
    with timezone.override(period.zone):
        return render(request, "cabinet/clicks.html", {
            **period_context(request, period, error), "page": page,
            "filters": request.GET,
            "sub_filters": [(name, request.GET.get(name, "")) for name in SUB_FILTERS]})


CLICK_HEADER = ["time", "sub1", "sub2", "sub3", "sub4", "sub5", "utm_source", "utm_medium",
                "utm_campaign", "country", "browser", "referrer", "unique"]


@partner_required
@reads_from_replica
def clicks_csv(request: PartnerRequest) -> StreamingHttpResponse:
    period, _error, rows = _clicks(request)
    zone = period.zone

    def lines() -> Iterator[list[Any]]:
        for c in selectors.click_items(rows):
            yield [local(c.created_at, zone), c.sub1, c.sub2, c.sub3, c.sub4, c.sub5,
                   c.utm_source, c.utm_medium, c.utm_campaign, c.country, c.browser,
                   c.referrer, int(c.is_unique)]

    return csv_response(f"clicks-{period.first}-{period.last}.csv", CLICK_HEADER, lines())


# --- exchanges ------------------------------------------------------------------------------


def _exchanges(request: PartnerRequest) -> tuple[Period, str, QuerySet[Any]]:
    period, error = report_period(request)
    status = request.GET.get("status", "")
    rows = selectors.exchange_list(
        partner_id=request.partner.pk, start=period.start, end=period.end,
        status=status if status in ExchangeStatus.values else "",
        sub1=filter_text(request, "sub1", 64), country=filter_text(request, "country", 2))
    return period, error, rows


@partner_required
@reads_from_replica
def exchanges(request: PartnerRequest) -> HttpResponse:
    period, error, rows = _exchanges(request)
    with timezone.override(period.zone):
        return render(request, "cabinet/exchanges.html", {
            **period_context(request, period, error), "page": _page(request, rows, period),
            "filters": request.GET, "statuses": ExchangeStatus.choices})


EXCHANGE_HEADER = ["id", "time", "give", "amount_give", "get", "amount_get", "status",
                   "turnover_usd", "reward_usd", "reward_accrued", "sub1", "sub2", "sub3",
                   "sub4", "sub5", "utm_source", "utm_medium", "utm_campaign", "country"]


def exchange_lines(rows: QuerySet[Any], zone: tzinfo) -> Iterable[list[Any]]:
    for e in rows.iterator(chunk_size=2000):
        yield [e.pk, local(e.created_at, zone), e.currency_give.code, plain(e.amount_give),
               e.currency_get.code, plain(e.amount_get), e.status,
               _money(e.amount_give * e.usd_price_give if e.is_success else Decimal(0)),
               _money(e.partner_reward if e.reward_accrued else Decimal(0)),
               int(e.reward_accrued), e.sub1, e.sub2, e.sub3, e.sub4, e.sub5, e.utm_source,
               e.utm_medium, e.utm_campaign, e.country]


@partner_required
@reads_from_replica
def exchanges_csv(request: PartnerRequest) -> StreamingHttpResponse:
    period, _error, rows = _exchanges(request)
    return csv_response(f"exchanges-{period.first}-{period.last}.csv", EXCHANGE_HEADER,
                        exchange_lines(rows, period.zone))


# --- ledger and payouts ---------------------------------------------------------------------


def _ledger(request: PartnerRequest) -> tuple[Period, str, QuerySet[Any]]:
    period, error = report_period(request)
    kind = request.GET.get("kind", "")
    return period, error, selectors.ledger_list(
        partner_id=request.partner.pk, start=period.start, end=period.end,
        kind=kind if kind in EntryKind.values else "")


@partner_required
def ledger(request: PartnerRequest) -> HttpResponse:
    period, error, rows = _ledger(request)
    page = _page(request, rows, period)
    # Each reward's state in words: pending, in review and why, approved, rejected and why.
    states = reward_states([e.pk for e in page["items"] if e.kind == EntryKind.CREDIT])
    for entry in page["items"]:
        entry.state_text = states.get(entry.pk, "")
    with timezone.override(period.zone):
        return render(request, "cabinet/ledger.html", {
            **period_context(request, period, error), "page": page,
            "filters": request.GET, "kinds": EntryKind.choices})


@partner_required
def ledger_csv(request: PartnerRequest) -> StreamingHttpResponse:
    period, _error, rows = _ledger(request)
    zone = period.zone
    lines = ([e.pk, local(e.created_at, zone), e.kind, e.amount, e.exchange_id or "",
              e.payout_id or "", e.note] for e in rows.iterator(chunk_size=2000))
    return csv_response(f"ledger-{period.first}-{period.last}.csv",
                        ["id", "time", "kind", "amount_usd", "exchange", "payout", "note"],
                        lines)


def payout_status(request: PartnerRequest) -> int | None:
    raw = request.GET.get("status", "")
    return int(raw) if ascii_digits(raw) and int(raw) in PayoutStatus.values else None


@partner_required
def payouts_csv(request: PartnerRequest) -> StreamingHttpResponse:
    """Every payout, or those of `period` when the query names one."""
    period, _error = report_period(request)
    zone = period.zone
    start, end = (period.start, period.end) if "period" in request.GET else (EVER, FOREVER)
    rows = selectors.payout_list(partner_id=request.partner.pk, start=start, end=end,
                                 status=payout_status(request))
    lines = ([p.pk, local(p.created_at, zone), p.method.title, p.account, plain(p.amount),
              p.currency_code, p.original_amount, p.status, p.get_status_display(),
              p.transaction_id] for p in rows.iterator(chunk_size=2000))
    return csv_response("payouts.csv",
                        ["id", "time", "method", "account", "amount", "currency",
                         "balance_held_usd", "status", "status_name", "transaction_id"], lines)
