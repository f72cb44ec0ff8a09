"""The one statistics service: the cabinet's pages, their CSV downloads, the partner API and
the operator's overview all read their figures here, so they cannot disagree.

Clicks (crawlers left out) and exchanges are read from rollups, so a page's work grows with
the days of its period, not with its clicks or exchanges (see `Cover`): whole UTC days from
the daily rollups, other whole UTC hours from the hourly ones, and from the raw tables only
the part-hours at the period's edges (a time zone with a half-hour offset), an hour split by
a local midnight inside a series' bucket, the clicks the rollups have not reached yet
(`id > rolled_id`) and the hours a write has marked stale since the last round (`StaleHour`:
an exchange made, changed, moved or deleted, a click changed or deleted, whichever way the
write came). So a figure is always exact, whatever the zone and whatever changed the rows,
and archiving clicks (rolled up before they are deleted) never changes one. Money is summed
exactly and rounded to cents once per figure.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Context, Decimal
from typing import Any, NamedTuple

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BooleanField,
    Count,
    DecimalField,
    Expression,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import TruncDate
from django.db.models.sql.compiler import SQLCompiler

from obmin.exchange.models import Currency, Exchange, ExchangeStatus
from obmin.lib.money import quantize
from obmin.lib.timeutil import day_start
from obmin.partners.models import Click, ClickDay
from obmin.rewards.models import LedgerEntry, Payout
from obmin.stats.dimensions import DERIVED, PLAIN, ROLLED, click_column, value_of
from obmin.stats.models import (
    ClickDayRollup,
    ClickRollup,
    Dimension,
    ExchangeDayRollup,
    ExchangeRollup,
    RollupState,
    StaleHour,
    StaleSource,
)
from obmin.stats.periods import Period, local_midnight

ZERO = Decimal(0)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
DAY_SERIES_MAX_DAYS = 62  # longer periods are shown by week, then by month
WEEK_SERIES_MAX_DAYS = 400
# Breakdowns by exchange fields (clicks carry no direction).
DIRECTION = "direction"
BREAKDOWNS = [*PLAIN, DIRECTION, Dimension.BROWSER.value, Dimension.REFERRER.value]

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


# --- how a span of time is read -------------------------------------------------------------


def _ceil_hour(moment: datetime) -> datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + HOUR


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def rolled_id() -> int:
    return RollupState.objects.values_list("rolled_id", flat=True).first() or 0


def exchanges_rolled_at() -> datetime | None:
    return RollupState.objects.values_list("exchanges_at", flat=True).first()


def stale_hours(source: str, start: datetime, end: datetime) -> list[datetime]:
    """The UTC hours overlapping [start, end) that a write marked stale since the rollups'
    round: their rollups may be behind, so they are read raw. (Clicks: not on an archived
    day, whose raw clicks are gone and whose rollups are the record.)"""
    hours = sorted(set(StaleHour.objects.filter(
        source=source, hour__gt=start - HOUR, hour__lt=end).values_list("hour", flat=True)))
    if source != StaleSource.CLICKS or not hours:
        return hours
    archived = set(ClickDay.objects.filter(day__in={h.astimezone(UTC).date() for h in hours})
                   .values_list("day", flat=True))
    return [h for h in hours if h.astimezone(UTC).date() not in archived]


Span = tuple[datetime, datetime]


def _merge(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for low, high in spans:
        if out and out[-1][1] == low:
            out[-1] = (out[-1][0], high)
        else:
            out.append((low, high))
    return out


@dataclass(frozen=True)
class Cover:
    """How [start, end) is read: whole UTC days from daily rollups, other whole hours from
    hourly rollups, the rest (part-hours at the edges, an hour split by a cut, a dirty hour)
    from the raw table. No day or hour read from a rollup holds a cut (a bucket's first
    instant) inside it, so each rollup row falls in one bucket."""

    start: datetime
    end: datetime
    days: list[Span]
    hours: list[Span]
    raw: list[Span]

    @classmethod
    def of(cls, start: datetime, end: datetime, *, cuts: Iterable[datetime] = (),
           dirty: Iterable[datetime] = ()) -> Cover:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        inner = sorted(c.astimezone(UTC) for c in cuts if start < c < end)
        dirty_hours = {h.astimezone(UTC) for h in dirty}
        # The UTC days holding a dirty hour: one look-up per day, not 24 (a year's page asked
        # 70,000 times).
        dirty_days = {h.replace(hour=0, minute=0, second=0, microsecond=0) for h in dirty_hours}

        def cut_inside(low: datetime, high: datetime) -> bool:
            at = bisect_right(inner, low)
            return at < len(inner) and inner[at] < high

        full_start, full_end = _ceil_hour(start), _floor_hour(end)
        if full_end <= full_start:
            return cls(start, end, [], [], [(start, end)])
        raw: list[Span] = [(start, full_start)] if start < full_start else []
        hours: list[Span] = []
        days: list[Span] = []
        moment = full_start
        while moment < full_end:
            day_end = moment + DAY
            if (moment.hour == 0 and day_end <= full_end and not cut_inside(moment, day_end)
                    and moment not in dirty_days):
                days.append((moment, day_end))
                moment = day_end
                continue
            hour_end = moment + HOUR
            if moment in dirty_hours or cut_inside(moment, hour_end):
                raw.append((moment, hour_end))
            else:
                hours.append((moment, hour_end))
            moment = hour_end
        if full_end < end:
            raw.append((full_end, end))
        return cls(start, end, _merge(days), _merge(hours), _merge(raw))

    def q(self, field: str, spans: list[Span], *, as_days: bool = False) -> Q:
        """`field` in any of `spans` (nothing when there are none: Q() selects every row)."""
        return Q(InSpans(field, spans, as_days=as_days)) if spans else Q()


class InSpans(Expression):
    """`field >= low AND field < high` for any of the spans, as one condition written here.

    A year's statistics page in a half-hour zone reads ~200 spans per query; one Q per span
    cost Django ten filter builds each, a third of the page's time."""

    output_field = BooleanField()  # a condition: filter() and Q() take it as one

    def __init__(self, field: str, spans: list[Span], *, as_days: bool = False) -> None:
        super().__init__()
        self.spans, self.as_days = tuple(spans), as_days
        self.column: Any = F(field)

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, exprs: Sequence[Combinable | Expression]) -> None:
        [self.column] = exprs

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper,
               **extra: Any) -> tuple[str, list[Any]]:
        column, column_params = compiler.compile(self.column)
        ops = connection.ops
        terms, params = [], []
        for low, high in self.spans:
            terms.append(f"({column} >= %s AND {column} < %s)")
            bounds = ((ops.adapt_datefield_value(low.date()),
                       ops.adapt_datefield_value(high.date())) if self.as_days
                      else (ops.adapt_datetimefield_value(low),
                            ops.adapt_datetimefield_value(high)))
            params += [*column_params, bounds[0], *column_params, bounds[1]]
        return "(" + " OR ".join(terms) + ")", params


def _grouped(rows: QuerySet[Any], fields: list[str], sums: dict[str, Any]) -> list[Any]:
    """`rows` grouped by `fields` with `sums` per group, as tuples (one for no fields)."""
    if not fields:
        return [tuple(rows.aggregate(**sums).values())]
    return list(rows.values_list(*fields).annotate(**sums).order_by())


def _local_day(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


def _row_day(moment: date | datetime | None, zone: tzinfo | None) -> date | None:
    """The local day in `zone` of a rollup row: an hourly row's hour, or a daily row's UTC day
    (its first instant); None when the sums are not by day."""
    if zone is None or moment is None:
        return None
    if not isinstance(moment, datetime):
        moment = day_start(moment)
    return _local_day(moment, zone)


def _cuts(period: Period | None, size: str) -> list[datetime]:
    """The first instants of the period's buckets (local days, weeks or months) inside it."""
    if period is None:
        return []
    days = (period.first + timedelta(days=n) for n in range(1, period.days))
    return [local_midnight(day, period.zone) for day in days if _bucket(day, size) == day]


# --- clicks ---------------------------------------------------------------------------------


def _raw_clicks(partner_id: int | None) -> QuerySet[Click]:
    clicks = Click.objects.filter(is_bot=False)
    return clicks if partner_id is None else clicks.filter(partner_id=partner_id)


CLICK_SUMS = {"c": Sum("clicks"), "u": Sum("unique_clicks")}
RAW_COUNTS = {"c": Count("id"), "u": Count("id", filter=Q(is_unique=True))}
ClickKey = tuple[int, date | None, str]  # partner (0: not by partner), local day, value


def click_sums(*, partner_id: int | None, dimension: str, start: datetime, end: datetime,
               period: Period | None = None, size: str = "day",
               by_partner: bool = False) -> dict[ClickKey, list[int]]:
    """{(partner id or 0, local day or None, value): [clicks, unique]} in [start, end).

    By local day of `period`'s zone when a period is given (then [start, end) is the
    period's), else None; with a `size` of "week" or "month" a day row may hold the end of
    the local day before, so only the sums by that bucket (see `series`) are
    exact. `dimension` "" is all clicks (value ""); a dimension that is not rolled up
    (network) is read from the raw clicks."""
    out: dict[ClickKey, list[int]] = defaultdict(lambda: [0, 0])
    zone = period.zone if period is not None else None
    cover = Cover.of(start, end, cuts=_cuts(period, size),
                     dirty=stale_hours(StaleSource.CLICKS, start, end))
    head = ["partner_id"] if by_partner else []

    def add(partner: int, moment: date | datetime | None, value: str, c: int, u: int) -> None:
        entry = out[(partner, _row_day(moment, zone), value)]
        entry[0] += c
        entry[1] += u

    if dimension in ROLLED:
        when = [] if zone is None else ["day"]
        if cover.days:
            rows = ClickDayRollup.objects.filter(
                cover.q("day", cover.days, as_days=True), dimension=dimension)
            if partner_id is not None:
                rows = rows.filter(partner_id=partner_id)
            for row in rows.values_list(*head, *when, "value").annotate(**CLICK_SUMS).order_by():
                add(row[0] if by_partner else 0, row[-4] if when else None, row[-3], row[-2],
                    row[-1])
        when = [] if zone is None else ["hour"]
        if cover.hours:
            rows_h = ClickRollup.objects.filter(cover.q("hour", cover.hours),
                                                dimension=dimension)
            if partner_id is not None:
                rows_h = rows_h.filter(partner_id=partner_id)
            for row in rows_h.values_list(*head, *when, "value").annotate(
                    **CLICK_SUMS).order_by():
                add(row[0] if by_partner else 0, row[-4] if when else None, row[-3], row[-2],
                    row[-1])
        raw_q = (Q(id__gt=rolled_id(), created_at__gte=cover.start, created_at__lt=cover.end)
                 | cover.q("created_at", cover.raw))
    else:  # not rolled up: every raw click of the span
        raw_q = Q(created_at__gte=start, created_at__lt=end)
    raw = _raw_clicks(partner_id).filter(raw_q)
    when = []
    if zone is not None:
        raw = raw.annotate(local_day=TruncDate("created_at", tzinfo=zone))
        when = ["local_day"]
    columns = [click_column(dimension)] if dimension else []
    for row in _grouped(raw, [*head, *when, *columns], RAW_COUNTS):
        value = value_of(dimension, row[-3]) if dimension else ""
        day = row[-4 if dimension else -3] if when else None
        entry = out[(row[0] if by_partner else 0, day, value)]
        entry[0] += row[-2] or 0
        entry[1] += row[-1] or 0
    return out


def click_totals(*, partner_id: int | None, start: datetime, end: datetime) -> tuple[int, int]:
    """Clicks and unique clicks in [start, end); every partner's when `partner_id` is None."""
    sums = click_sums(partner_id=partner_id, dimension="", start=start, end=end)
    entry = sums.get((0, None, ""), [0, 0])
    return entry[0], entry[1]


def click_breakdown(*, partner_id: int | None, dimension: str, start: datetime, end: datetime,
                    by_partner: bool = False) -> dict[tuple[int, str], list[int]]:
    """{(partner id or 0, value): [clicks, unique]} in [start, end) by a dimension
    ("" : all clicks, value "")."""
    sums = click_sums(partner_id=partner_id, dimension=dimension, start=start, end=end,
                      by_partner=by_partner)
    return defaultdict(lambda: [0, 0], {(p, value): counts
                                        for (p, _d, value), counts in sums.items()})


def click_days(*, partner_id: int | None, period: Period) -> dict[date, list[int]]:
    """{local day: [clicks, unique]} over the period's days, in its zone."""
    days: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for (_p, day, _v), (clicks, unique) in click_sums(
            partner_id=partner_id, dimension="", start=period.start, end=period.end,
            period=period).items():
        if day is not None:
            entry = days[day]
            entry[0] += clicks
            entry[1] += unique
    return days


# --- exchanges ------------------------------------------------------------------------------


TURNOVER = ExpressionWrapper(F("amount_give") * F("usd_price_give"),
                             output_field=DecimalField(max_digits=60, decimal_places=20))
EXCHANGE_SUMS = {
    "n": Count("id"),
    "s": Count("id", filter=Q(status=ExchangeStatus.SUCCESS)),
    "t": Sum(TURNOVER, filter=Q(status=ExchangeStatus.SUCCESS)),
    "r": Sum("partner_reward", filter=Q(reward_accrued=True)),
}
ROLLUP_SUMS = {"n": Sum("exchanges"), "s": Sum("successful"), "t": Sum("turnover"),
               "r": Sum("rewards")}
EXACT = Context(prec=90)


def direction_value(give_id: int, get_id: int) -> str:
    return f"{give_id}:{get_id}"


def _exchanges(partner_id: int | None, start: datetime, end: datetime) -> QuerySet[Exchange]:
    rows = Exchange.objects.filter(created_at__gte=start, created_at__lt=end)
    return rows.exclude(partner=None) if partner_id is None else rows.filter(
        partner_id=partner_id)


class Sums:
    """Exact exchange sums; quantized only when put into `Figures`."""

    __slots__ = ("n", "r", "s", "t")

    def __init__(self) -> None:
        self.n = self.s = 0
        self.t = self.r = ZERO

    def add(self, n: int, s: int, t: Any, r: Any) -> None:
        self.n += n or 0
        self.s += s or 0
        self.t = EXACT.add(self.t, Decimal(t or 0))
        self.r = EXACT.add(self.r, Decimal(r or 0))

    def into(self, figures: Figures) -> None:
        figures.exchanges += self.n
        figures.successful += self.s
        # Quantized: SQLite sums decimals as floats.
        figures.turnover += quantize(self.t, 2)
        figures.rewards += quantize(self.r, 2)


def exchange_sums(*, partner_id: int | None, dimension: str, start: datetime, end: datetime,
                  period: Period | None = None, size: str = "day",
                  by_partner: bool = False) -> dict[ClickKey, Sums]:
    """{(partner id or 0, local day or None, value): Sums} of the exchanges created in
    [start, end), by an `ExchangeDimension` ("" : all, value ""; direction's value is
    "<give id>:<get id>"). By local day of `period`'s zone when a period is given."""
    out: dict[ClickKey, Sums] = defaultdict(Sums)
    zone = period.zone if period is not None else None
    at = exchanges_rolled_at()
    head = ["partner_id"] if by_partner else []
    if at is None:  # never rolled up
        cover = Cover(start.astimezone(UTC), end.astimezone(UTC), [], [],
                      [(start.astimezone(UTC), end.astimezone(UTC))])
    else:
        cover = Cover.of(start, end, cuts=_cuts(period, size),
                         dirty=stale_hours(StaleSource.EXCHANGES, start, end))

    def add(partner: int, moment: date | datetime | None, value: str, row: Any) -> None:
        out[(partner, _row_day(moment, zone), value)].add(*row[-4:])

    sources: list[tuple[QuerySet[Any], str, list[Span], bool]] = [
        (ExchangeDayRollup.objects.all(), "day", cover.days, True),
        (ExchangeRollup.objects.all(), "hour", cover.hours, False)]
    for rows, field_name, spans, as_days in sources:
        if not spans:
            continue
        rows = rows.filter(cover.q(field_name, spans, as_days=as_days), dimension=dimension)
        if partner_id is not None:
            rows = rows.filter(partner_id=partner_id)
        when = [] if zone is None else [field_name]
        for row in rows.values_list(*head, *when, "value").annotate(**ROLLUP_SUMS).order_by():
            add(row[0] if by_partner else 0, row[len(head)] if when else None,
                row[len(head) + len(when)], row)
    if cover.raw:
        raw = _exchanges(partner_id, start, end).filter(cover.q("created_at", cover.raw))
        when = []
        if zone is not None:
            raw = raw.annotate(local_day=TruncDate("created_at", tzinfo=zone))
            when = ["local_day"]
        columns = (["currency_give_id", "currency_get_id"] if dimension == DIRECTION
                   else [dimension] if dimension else [])
        for row in _grouped(raw, [*head, *when, *columns], EXCHANGE_SUMS):
            keys = row[len(head) + len(when):-4]
            if dimension == DIRECTION:
                value = direction_value(keys[0], keys[1])
            else:
                value = value_of(dimension, keys[0]) if dimension else ""
            out[(row[0] if by_partner else 0, row[len(head)] if when else None, value)].add(
                *row[-4:])
    return out


def figures(*, partner_id: int | None, start: datetime, end: datetime) -> Figures:
    """Every total of [start, end): one partner's, or the program's when `partner_id` is None."""
    result = Figures()
    result.add_clicks(*click_totals(partner_id=partner_id, start=start, end=end))
    sums = exchange_sums(partner_id=partner_id, dimension="", start=start, end=end)
    sums.get((0, None, ""), Sums()).into(result)
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

    for (_p, local_day, _v), (clicks, unique) in click_sums(
            partner_id=partner_id, dimension="", start=period.start, end=period.end,
            period=period, size=size).items():
        row = row_of(local_day) if local_day is not None else None
        if row is not None:
            row.figures.add_clicks(clicks, unique)
    buckets: dict[date, Sums] = defaultdict(Sums)
    for (_p, day_, _v), sums in exchange_sums(partner_id=partner_id, dimension="",
                                              start=period.start, end=period.end,
                                              period=period, size=size).items():
        if day_ is not None:
            bucket = buckets[max(_bucket(day_, size), period.first)]
            bucket.add(sums.n, sums.s, sums.t, sums.r)
    for key, sums in buckets.items():
        if key in rows:
            sums.into(rows[key].figures)
    return list(rows.values())


def _direction_names(values: Iterable[str]) -> dict[str, str]:
    ids = {int(part) for value in values for part in value.split(":") if part.isdigit()}
    codes = dict(Currency.objects.filter(pk__in=ids).values_list("pk", "code"))
    names = {}
    for value in values:
        give, _sep, get = value.partition(":")
        names[value] = (f"{codes.get(int(give), give) if give.isdigit() else give} → "
                        f"{codes.get(int(get), get) if get.isdigit() else get}")
    return names


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
    if dimension == DIRECTION or dimension not in DERIVED:
        grouped = exchange_sums(partner_id=partner_id, dimension=dimension, start=period.start,
                                end=period.end)
        names = (_direction_names([v for (_p, _d, v) in grouped])
                 if dimension == DIRECTION else {})
        for (_p, _d, value), sums in grouped.items():
            sums.into(row(names.get(value, value)).figures)
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
    for (partner_id, _d, _v), sums in exchange_sums(partner_id=None, dimension="", start=start,
                                                    end=end, by_partner=True).items():
        sums.into(out[partner_id])
    return out
