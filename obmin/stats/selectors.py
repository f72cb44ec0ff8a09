"""The one statistics service: the cabinet's pages, their CSV downloads, the partner API and
the operator's overview all read their figures here, so they cannot disagree.

Clicks (crawlers left out) are read from the hourly rollups for the whole UTC hours of a
period, plus the raw clicks the rollups have not reached yet (`id > rolled_id`), plus the raw
clicks of any part-hour at the period's edges (a time zone with a half-hour offset). For a
day-by-day series in such a zone, the hour that holds local midnight is read raw too. So a
figure is always exact, whatever the zone, and archiving clicks (rolled up before they are
deleted) never changes one.

Exchanges are read from their table (indexed by partner and time): a year holds tens of
thousands, not millions, and their status changes after the fact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from obmin.exchange.models import Exchange, ExchangeStatus
from obmin.lib.money import quantize
from obmin.partners.models import Click
from obmin.rewards.models import LedgerEntry, Payout
from obmin.stats.dimensions import DERIVED, PLAIN, ROLLED, click_column, value_of
from obmin.stats.models import ClickRollup, Dimension, RollupState
from obmin.stats.periods import Period

ZERO = Decimal(0)
HOUR = timedelta(hours=1)
DAY_SERIES_MAX_DAYS = 62  # longer periods are shown by week, then by month
WEEK_SERIES_MAX_DAYS = 400
# Breakdowns by exchange fields (clicks carry no direction).
DIRECTION = "direction"
BREAKDOWNS = [*PLAIN, DIRECTION, Dimension.BROWSER.value, Dimension.REFERRER.value]
TURNOVER = ExpressionWrapper(F("amount_give") * F("usd_price_give"),
                             output_field=DecimalField(max_digits=40, decimal_places=20))


# --- figures --------------------------------------------------------------------------------


@dataclass
class Figures:
    """Clicks and exchanges of one period, or one row of a breakdown or series."""

    clicks: int = 0
    unique_clicks: int = 0
    exchanges: int = 0
    successful: int = 0
    turnover: Decimal = ZERO
    rewards: Decimal = ZERO

    @property
    def conversion(self) -> Decimal | None:
        """Successful exchanges per 100 unique clicks (a percent); None without clicks."""
        if not self.unique_clicks:
            return None
        return quantize(Decimal(self.successful * 100) / self.unique_clicks, 2)

    @property
    def epc(self) -> Decimal | None:
        """Rewards per 100 unique clicks, USD."""
        if not self.unique_clicks:
            return None
        return quantize(self.rewards * 100 / self.unique_clicks, 2)

    def add_clicks(self, clicks: int, unique: int) -> None:
        self.clicks += clicks
        self.unique_clicks += unique


@dataclass
class Row:
    """A breakdown's or a series' row: its value (or the bucket's first day) and figures."""

    key: str
    figures: Figures = field(default_factory=Figures)
    day: date | None = None


@dataclass(frozen=True)
class Comparison:
    period: Period
    current: Figures
    previous: Figures
    previous_period: Period


# --- clicks ---------------------------------------------------------------------------------


def _ceil_hour(moment: datetime) -> datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + HOUR


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def rolled_id() -> int:
    return RollupState.objects.values_list("rolled_id", flat=True).first() or 0


@dataclass(frozen=True)
class _Plan:
    """How the clicks of [start, end) are read: rollup hours and raw ranges."""

    start: datetime
    end: datetime
    full_start: datetime
    full_end: datetime
    rolled_id: int

    @classmethod
    def of(cls, start: datetime, end: datetime) -> _Plan:
        full_start, full_end = _ceil_hour(start), _floor_hour(end)
        if full_end <= full_start:
            full_start = full_end = start  # no whole hour: everything raw
        return cls(start.astimezone(UTC), end.astimezone(UTC), full_start.astimezone(UTC),
                   full_end.astimezone(UTC), rolled_id())

    def raw_q(self, extra: Iterable[tuple[datetime, datetime]] = ()) -> Q:
        q = Q(id__gt=self.rolled_id, created_at__gte=self.full_start,
              created_at__lt=self.full_end)
        for low, high in [(self.start, self.full_start), (self.full_end, self.end), *extra]:
            if high > low:
                q |= Q(created_at__gte=low, created_at__lt=high)
        return q

    def rollups(self, dimension: str) -> QuerySet[ClickRollup]:
        return ClickRollup.objects.filter(dimension=dimension, hour__gte=self.full_start,
                                          hour__lt=self.full_end)


def _raw_clicks(partner_id: int | None) -> QuerySet[Click]:
    clicks = Click.objects.filter(is_bot=False)
    return clicks if partner_id is None else clicks.filter(partner_id=partner_id)


def _rollups(plan: _Plan, dimension: str, partner_id: int | None) -> QuerySet[ClickRollup]:
    rows = plan.rollups(dimension)
    return rows if partner_id is None else rows.filter(partner_id=partner_id)


CLICK_SUMS = {"c": Sum("clicks"), "u": Sum("unique_clicks")}
RAW_COUNTS = {"c": Count("id"), "u": Count("id", filter=Q(is_unique=True))}


def click_totals(*, partner_id: int | None, start: datetime, end: datetime) -> tuple[int, int]:
    """Clicks and unique clicks in [start, end); every partner's when `partner_id` is None."""
    plan = _Plan.of(start, end)
    rolled = _rollups(plan, "", partner_id).aggregate(**CLICK_SUMS)
    raw = _raw_clicks(partner_id).filter(plan.raw_q()).aggregate(**RAW_COUNTS)
    return (rolled["c"] or 0) + (raw["c"] or 0), (rolled["u"] or 0) + (raw["u"] or 0)


def click_breakdown(*, partner_id: int | None, dimension: str, start: datetime, end: datetime,
                    by_partner: bool = False) -> dict[tuple[int, str], list[int]]:
    """{(partner id or 0, value): [clicks, unique]} in [start, end) by a rolled dimension
    ("" : all clicks, value "")."""
    out: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    if dimension in ROLLED:
        plan = _Plan.of(start, end)
        raw_q = plan.raw_q()
        fields = (["partner_id"] if by_partner else []) + ["value"]
        for row in _rollups(plan, dimension, partner_id).values_list(*fields).annotate(
                **CLICK_SUMS).order_by():
            entry = out[(row[0] if by_partner else 0, row[-3])]
            entry[0] += row[-2]
            entry[1] += row[-1]
    else:  # not rolled up: every raw click of the period
        raw_q = Q(created_at__gte=start, created_at__lt=end)
    fields = (["partner_id"] if by_partner else []) + (
        [click_column(dimension)] if dimension else [])
    raw = _raw_clicks(partner_id).filter(raw_q).values_list(*fields).annotate(
        **RAW_COUNTS).order_by()
    for row in raw:
        value = value_of(dimension, row[-3]) if dimension else ""
        entry = out[(row[0] if by_partner else 0, value)]
        entry[0] += row[-2]
        entry[1] += row[-1]
    return out


def _local_day(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


def click_days(*, partner_id: int | None, period: Period) -> dict[date, list[int]]:
    """{local day: [clicks, unique]} over the period's days, in its zone."""
    zone = period.zone
    plan = _Plan.of(period.start, period.end)
    days: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    straddling: list[tuple[datetime, datetime]] = []
    hours = _rollups(plan, "", partner_id).values_list("hour").annotate(**CLICK_SUMS).order_by()
    for hour, clicks, unique in hours:
        first_day = _local_day(hour, zone)
        if first_day != _local_day(hour + HOUR - timedelta(microseconds=1), zone):
            straddling.append((hour, hour + HOUR))  # local midnight inside: read it raw
            continue
        entry = days[first_day]
        entry[0] += clicks
        entry[1] += unique
    raw = (_raw_clicks(partner_id).filter(plan.raw_q(straddling))
           .annotate(day=TruncDate("created_at", tzinfo=zone))
           .values_list("day").annotate(**RAW_COUNTS).order_by())
    for day, clicks, unique in raw:
        entry = days[day]
        entry[0] += clicks
        entry[1] += unique
    return days


# --- exchanges ------------------------------------------------------------------------------


EXCHANGE_SUMS = {
    "n": Count("id"),
    "s": Count("id", filter=Q(status=ExchangeStatus.SUCCESS)),
    "t": Sum(TURNOVER, filter=Q(status=ExchangeStatus.SUCCESS)),
    "r": Sum("partner_reward", filter=Q(reward_accrued=True)),
}


def _exchanges(partner_id: int | None, start: datetime, end: datetime) -> QuerySet[Exchange]:
    rows = Exchange.objects.filter(created_at__gte=start, created_at__lt=end)
    return rows.exclude(partner=None) if partner_id is None else rows.filter(
        partner_id=partner_id)


def _add_exchanges(figures: Figures, row: dict[str, Any] | tuple[Any, ...]) -> None:
    n, s, t, r = (row["n"], row["s"], row["t"], row["r"]) if isinstance(row, dict) else row[-4:]
    figures.exchanges += n
    figures.successful += s
    # Quantized: SQLite sums decimals as floats.
    figures.turnover += quantize(Decimal(t or 0), 2)
    figures.rewards += quantize(Decimal(r or 0), 2)


def figures(*, partner_id: int | None, start: datetime, end: datetime) -> Figures:
    """Every total of [start, end): one partner's, or the program's when `partner_id` is None."""
    result = Figures()
    result.add_clicks(*click_totals(partner_id=partner_id, start=start, end=end))
    _add_exchanges(result, _exchanges(partner_id, start, end).aggregate(**EXCHANGE_SUMS))
    return result


def comparison(*, partner_id: int | None, period: Period) -> Comparison:
    """The period's totals and the previous period's beside them."""
    previous = period.previous()
    return Comparison(period, figures(partner_id=partner_id, start=period.start, end=period.end),
                      figures(partner_id=partner_id, start=previous.start, end=previous.end),
                      previous)


# --- series and breakdowns ------------------------------------------------------------------


def bucket_size(period: Period) -> str:
    if period.days <= DAY_SERIES_MAX_DAYS:
        return "day"
    return "week" if period.days <= WEEK_SERIES_MAX_DAYS else "month"


def _bucket(day: date, size: str) -> date:
    if size == "week":
        return day - timedelta(days=day.weekday())
    if size == "month":
        return day.replace(day=1)
    return day


def series(*, partner_id: int | None, period: Period) -> list[Row]:
    """One row per local day (week, month for long periods) of the period, oldest first,
    empty buckets included."""
    size = bucket_size(period)
    rows: dict[date, Row] = {}
    day = period.first
    while day <= period.last:
        key = max(_bucket(day, size), period.first)
        rows.setdefault(key, Row(key.isoformat(), day=key))
        day += timedelta(days=1)

    def row_of(day: date) -> Row | None:
        return rows.get(max(_bucket(day, size), period.first))

    for day, (clicks, unique) in click_days(partner_id=partner_id, period=period).items():
        row = row_of(day)
        if row is not None:
            row.figures.add_clicks(clicks, unique)
    exchanges = (_exchanges(partner_id, period.start, period.end)
                 .annotate(day=TruncDate("created_at", tzinfo=period.zone))
                 .values_list("day").annotate(**EXCHANGE_SUMS).order_by())
    for entry in exchanges:
        row = row_of(entry[0])
        if row is not None:
            _add_exchanges(row.figures, entry)
    return list(rows.values())


def breakdown(*, partner_id: int, dimension: str, period: Period) -> list[Row]:
    """The period's figures by one dimension (see BREAKDOWNS), most clicks first (then most
    exchanges). Exchanges carry no browser or referrer, clicks no direction."""
    rows: dict[str, Row] = {}

    def row(key: str) -> Row:
        return rows.setdefault(key, Row(key))

    if dimension != DIRECTION:
        for (_p, value), (clicks, unique) in click_breakdown(
                partner_id=partner_id, dimension=dimension, start=period.start,
                end=period.end).items():
            row(value).figures.add_clicks(clicks, unique)
    if dimension == DIRECTION:
        grouped = (_exchanges(partner_id, period.start, period.end)
                   .values_list("currency_give__code", "currency_get__code")
                   .annotate(**EXCHANGE_SUMS).order_by())
        for entry in grouped:
            _add_exchanges(row(f"{entry[0]} → {entry[1]}").figures, entry)
    elif dimension not in DERIVED:
        grouped = (_exchanges(partner_id, period.start, period.end).values_list(dimension)
                   .annotate(**EXCHANGE_SUMS).order_by())
        for entry in grouped:
            _add_exchanges(row(entry[0] or "").figures, entry)
    return sorted(rows.values(), key=lambda r: (-r.figures.clicks, -r.figures.exchanges, r.key))


# --- lists (the cabinet's tables and their CSV) ---------------------------------------------


class ClickItem(NamedTuple):
    id: int
    created_at: datetime
    sub1: str
    sub2: str
    sub3: str
    sub4: str
    sub5: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    country: str
    browser: str
    referrer: str
    is_unique: bool


@dataclass(frozen=True)
class ClickFilter:
    sub: dict[str, str] = field(default_factory=dict)  # sub1..sub5, utm_* -> exact value
    country: str = ""
    browser: str = ""
    referrer: str = ""
    unique: bool | None = None


def click_list(*, partner_id: int, start: datetime, end: datetime,
               filters: ClickFilter) -> QuerySet[Click]:
    """The partner's clicks in [start, end) as the clicks table lists them, newest first;
    crawlers left out (their flag is never shown to partners)."""
    clicks = _raw_clicks(partner_id).filter(created_at__gte=start, created_at__lt=end)
    for name, value in filters.sub.items():
        if value:
            clicks = clicks.filter(**{name: value})
    if filters.country:
        clicks = clicks.filter(country=filters.country.upper())
    if filters.browser:
        clicks = clicks.filter(browser__istartswith=filters.browser)
    if filters.referrer:
        clicks = clicks.filter(referrer__icontains=filters.referrer)
    if filters.unique is not None:
        clicks = clicks.filter(is_unique=filters.unique)
    return clicks.order_by("-created_at", "-id")


def click_items(clicks: QuerySet[Click]) -> Iterator[ClickItem]:
    return map(ClickItem._make, clicks.values_list(*ClickItem._fields).iterator(chunk_size=2000))


def exchange_list(*, partner_id: int, start: datetime, end: datetime, status: str = "",
                  sub1: str = "", country: str = "") -> QuerySet[Exchange]:
    """The partner's referred exchanges created in [start, end), newest first."""
    rows = (_exchanges(partner_id, start, end)
            .select_related("currency_give", "currency_get").order_by("-created_at", "-id"))
    if status:
        rows = rows.filter(status=status)
    if sub1:
        rows = rows.filter(sub1=sub1)
    if country:
        rows = rows.filter(country=country.upper())
    return rows


def ledger_list(*, partner_id: int, start: datetime, end: datetime,
                kind: str = "") -> QuerySet[LedgerEntry]:
    """The partner's ledger entries in [start, end), newest first (credits, reversals, holds,
    payouts)."""
    rows = LedgerEntry.objects.filter(partner_id=partner_id, created_at__gte=start,
                                      created_at__lt=end)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("-created_at", "-id")


def payout_list(*, partner_id: int, start: datetime, end: datetime,
                status: int | None = None) -> QuerySet[Payout]:
    """The partner's payouts requested in [start, end), newest first."""
    rows = Payout.objects.filter(partner_id=partner_id, created_at__gte=start,
                                 created_at__lt=end).select_related("method")
    if status is not None:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at", "-id")


def partner_figures(*, start: datetime, end: datetime) -> dict[int, Figures]:
    """Every partner's figures in [start, end) (the operator's overview)."""
    out: dict[int, Figures] = defaultdict(Figures)
    for (partner_id, _v), (clicks, unique) in click_breakdown(
            partner_id=None, dimension="", start=start, end=end, by_partner=True).items():
        out[partner_id].add_clicks(clicks, unique)
    for entry in (_exchanges(None, start, end).values_list("partner_id")
                  .annotate(**EXCHANGE_SUMS).order_by()):
        _add_exchanges(out[entry[0]], entry)
    return out
