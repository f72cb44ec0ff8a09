"""Keeping the rollups: the worker's duties `clicks_roll_up`, `exchanges_roll_up` and
`rollups_reconcile`, and `rollups_rebuild` (`obmin stats rebuild`).

Clicks are rolled up by id, not by time: a click queued in Redis or spooled to a file while the
database was down arrives late with its own (past) time, and is still rolled up once, into the
hour it happened. Whatever else changes the rows (a bulk update, a delete, a move to another
partner or hour, an exchange's status, an import written by raw SQL) marks the hours it touched
as stale (database triggers: `obmin.stats.triggers`); each round rebuilds those hours whole
from the raw rows, and until then the statistics read them raw. `rollups_reconcile` compares
the recent hours and a sample of older ones with the raw rows and repairs what differs (counted
in `/metrics`): the safety net for a change no trigger saw.

The days whose clicks were archived (`ClickDay`) keep their click rollups as they are: their
raw clicks are gone, so there the rollups are the record.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from obmin.exchange.models import Exchange
from obmin.lib import metrics
from obmin.lib.money import quantize
from obmin.lib.timeutil import day_start
from obmin.partners.models import Click, ClickDay
from obmin.stats.dimensions import ROLLED, click_column, value_of
from obmin.stats.models import (
    ClickDayRollup,
    ClickRollup,
    ExchangeDayRollup,
    ExchangeDimension,
    ExchangeRollup,
    RollupState,
    StaleHour,
    StaleSource,
)
from obmin.stats.selectors import EXCHANGE_SUMS, InSpans, Span, direction_value

logger = logging.getLogger("obmin.stats")

# Clicks read per transaction. A year's ids are spread over all its hours, so each batch
# touches nearly every rollup row: the first build of a year of a million clicks is one batch.
BATCH = 1_000_000
Key = tuple[int, str, datetime, str]  # partner, dimension, hour, value
DayKey = tuple[int, str, date, str]  # partner, dimension, UTC day, value
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Spans per statement: SQLite refuses an expression deeper than 1000 (the OR of the spans).
SPANS_PER_STATEMENT = 200
# More stale hours than this are rebuilt as one range from the first to the last.
MANY_HOURS = 500
# The reconciler's round: the last hours, and a sample of the older ones of the last days.
RECENT_HOURS = 6
SAMPLED_HOURS = 12
SAMPLED_DAYS_BACK = 400


# (hourly, daily) x (PostgreSQL arrays, plain rows)
UPSERT = {
    ("hour", True): "INSERT INTO stats_clickrollup "
                    "(partner_id, dimension, hour, value, clicks, unique_clicks) "
                    "SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[], "
                    "%s::varchar[], %s::integer[], %s::integer[]) "
                    "ON CONFLICT (partner_id, dimension, hour, value) DO UPDATE SET "
                    "clicks = stats_clickrollup.clicks + excluded.clicks, "
                    "unique_clicks = stats_clickrollup.unique_clicks + excluded.unique_clicks",
    ("hour", False): "INSERT INTO stats_clickrollup "
                     "(partner_id, dimension, hour, value, clicks, unique_clicks) "
                     "VALUES (%s, %s, %s, %s, %s, %s) "
                     "ON CONFLICT (partner_id, dimension, hour, value) DO UPDATE SET "
                     "clicks = stats_clickrollup.clicks + excluded.clicks, "
                     "unique_clicks = stats_clickrollup.unique_clicks + excluded.unique_clicks",
    ("day", True): "INSERT INTO stats_clickdayrollup "
                   "(partner_id, dimension, day, value, clicks, unique_clicks) "
                   "SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::date[], "
                   "%s::varchar[], %s::integer[], %s::integer[]) "
                   "ON CONFLICT (partner_id, dimension, day, value) DO UPDATE SET "
                   "clicks = stats_clickdayrollup.clicks + excluded.clicks, "
                   "unique_clicks = stats_clickdayrollup.unique_clicks + excluded.unique_clicks",
    ("day", False): "INSERT INTO stats_clickdayrollup "
                    "(partner_id, dimension, day, value, clicks, unique_clicks) "
                    "VALUES (%s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (partner_id, dimension, day, value) DO UPDATE SET "
                    "clicks = stats_clickdayrollup.clicks + excluded.clicks, "
                    "unique_clicks = stats_clickdayrollup.unique_clicks + excluded.unique_clicks",
}


def _upsert(level: str, rows: list[tuple[Any, ...]]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement per 20,000 rows, as arrays: a year's first build is a million rows.
            for first in range(0, len(rows), 20_000):
                cursor.execute(UPSERT[(level, True)], [
                    list(column) for column in zip(*rows[first:first + 20_000], strict=True)])
            return
        for first in range(0, len(rows), 1000):
            cursor.executemany(UPSERT[(level, False)], rows[first:first + 1000])


def _add(counts: dict[Key, list[int]]) -> None:
    """Adds `counts` to the hourly rollup rows and to their UTC days' rows (made when
    missing)."""
    if not counts:
        return
    hour_field = ClickRollup._meta.get_field("hour")
    day_field = ClickDayRollup._meta.get_field("day")
    days: dict[DayKey, list[int]] = defaultdict(lambda: [0, 0])
    rows = []
    for (partner_id, dimension, hour, value), (clicks, unique) in counts.items():
        rows.append((partner_id, dimension, hour_field.get_db_prep_value(hour, connection),
                     value, clicks, unique))
        entry = days[(partner_id, dimension, hour.astimezone(UTC).date(), value)]
        entry[0] += clicks
        entry[1] += unique
    _upsert("hour", rows)
    _upsert("day",
            [(partner_id, dimension, day_field.get_db_prep_value(day, connection), value, c, u)
             for (partner_id, dimension, day, value), (c, u) in days.items()])


def _count(which: Q) -> dict[Key, list[int]]:
    """The hourly rollup figures of the clicks `which` selects, crawlers left out."""
    counts: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    clicks = (Click.objects.filter(which, is_bot=False)
              .annotate(h=TruncHour("created_at", tzinfo=UTC)))
    for dimension in ROLLED:
        fields = ["partner_id", "h"] + ([click_column(dimension)] if dimension else [])
        grouped = (clicks.values_list(*fields)
                   .annotate(c=Count("id"), u=Count("id", filter=Q(is_unique=True))).order_by())
        for row in grouped:
            partner_id, hour = row[0], row[1]
            value = value_of(dimension, row[2]) if dimension else ""
            entry = counts[(partner_id, dimension, hour, value)]
            entry[0] += row[-2]
            entry[1] += row[-1]
    return counts


def _fold_archive() -> None:
    """The daily totals archived before the rollups existed, as their days' first hour; their
    breakdown values are unknown ("")."""
    counts: dict[Key, list[int]] = {}
    for partner_id, day, clicks, unique in ClickDay.objects.values_list(
            "partner_id", "day", "clicks", "unique_clicks"):
        for dimension in ROLLED:
            counts[(partner_id, dimension, day_start(day), "")] = [clicks, unique]
    _add(counts)


def _exchange_rows(which: Q) -> dict[Key, tuple[Any, ...]]:
    """The hourly rollup figures of the referred exchanges `which` selects."""
    exchanges = (Exchange.objects.filter(which).exclude(partner=None)
                 .annotate(h=TruncHour("created_at", tzinfo=UTC)))
    rows: dict[Key, tuple[Any, ...]] = {}
    for dimension in ExchangeDimension.values:
        columns = (["currency_give_id", "currency_get_id"]
                   if dimension == ExchangeDimension.DIRECTION
                   else [dimension] if dimension else [])
        grouped = (exchanges.values_list("partner_id", "h", *columns)
                   .annotate(**EXCHANGE_SUMS).order_by())
        for row in grouped:
            if dimension == ExchangeDimension.DIRECTION:
                value = direction_value(row[2], row[3])
            else:
                value = value_of(dimension, row[2]) if dimension else ""
            n, s, t, r = row[-4:]
            rows[(row[0], dimension, row[1], value)] = (n, s, t or 0, r or 0)
    return rows


# --- rebuilding hours from the raw rows -----------------------------------------------------


@dataclass(frozen=True)
class Rollup:
    """One kind of rollup: its hourly and daily tables, their figures, and how the raw rows
    of some hours (a condition on `created_at`) make its hourly rows."""

    source: str
    hourly: Any
    daily: Any
    figures: tuple[str, ...]
    raw: Callable[[Q, RollupState], dict[Key, tuple[Any, ...]]]


def _raw_clicks_rolled(which: Q, state: RollupState) -> dict[Key, tuple[Any, ...]]:
    """Only the clicks the rollups have reached by id (the rest are added by id later)."""
    return {key: tuple(figures)
            for key, figures in _count(which & Q(id__lte=state.rolled_id)).items()}


def _raw_exchanges(which: Q, state: RollupState) -> dict[Key, tuple[Any, ...]]:
    return _exchange_rows(which)


CLICKS = Rollup(StaleSource.CLICKS, ClickRollup, ClickDayRollup, ("clicks", "unique_clicks"),
                _raw_clicks_rolled)
EXCHANGES = Rollup(StaleSource.EXCHANGES, ExchangeRollup, ExchangeDayRollup,
                   ("exchanges", "successful", "turnover", "rewards"), _raw_exchanges)


def hour_spans(hours: Iterable[datetime]) -> list[Span]:
    """The hours as runs of consecutive hours; very many as one range."""
    ordered = sorted({hour.astimezone(UTC) for hour in hours})
    if len(ordered) > MANY_HOURS:
        return [(ordered[0], ordered[-1] + HOUR)]
    spans: list[Span] = []
    for hour in ordered:
        if spans and spans[-1][1] == hour:
            spans[-1] = (spans[-1][0], hour + HOUR)
        else:
            spans.append((hour, hour + HOUR))
    return spans


def _chunks(spans: list[Span]) -> Iterator[list[Span]]:
    for first in range(0, len(spans), SPANS_PER_STATEMENT):
        yield spans[first:first + SPANS_PER_STATEMENT]


def _plain(figures: Iterable[Any]) -> tuple[Any, ...]:
    """Figures to compare: money to 6 places (SQLite sums decimals as floats)."""
    return tuple(value if isinstance(value, int) else quantize(Decimal(value or 0), 6)
                 for value in figures)


def _by_hour(rows: dict[Key, tuple[Any, ...]]) -> dict[datetime, dict[Key, tuple[Any, ...]]]:
    hours: dict[datetime, dict[Key, tuple[Any, ...]]] = defaultdict(dict)
    for key, figures in rows.items():
        plain = _plain(figures)
        if any(plain):  # an all-zero row counts nothing
            hours[key[2].astimezone(UTC)][key] = plain
    return hours


def _hours_replace(rollup: Rollup, spans: list[Span], state: RollupState) -> int:
    """Makes the hourly rows of the whole UTC hours in `spans` what the raw rows say, hour by
    hour where they differ, and rebuilds those hours' days; returns how many hours differed.
    Inside the state's lock (clicks are read up to its `rolled_id`)."""
    changed: set[datetime] = set()
    for part in _chunks(spans):
        fresh = _by_hour(rollup.raw(Q(InSpans("created_at", part)), state))
        stored = _by_hour({
            (row[0], row[1], row[2], row[3]): row[4:]
            for row in rollup.hourly.objects.filter(InSpans("hour", part)).values_list(
                "partner_id", "dimension", "hour", "value", *rollup.figures)})
        differ = sorted(hour for hour in fresh.keys() | stored.keys()
                        if fresh.get(hour) != stored.get(hour))
        for first in range(0, len(differ), 1000):
            rollup.hourly.objects.filter(hour__in=differ[first:first + 1000]).delete()
        rollup.hourly.objects.bulk_create(
            (rollup.hourly(partner_id=partner_id, dimension=dimension, hour=hour, value=value,
                           **dict(zip(rollup.figures, figures, strict=True)))
             for hour in differ for (partner_id, dimension, _h, value), figures
             in fresh.get(hour, {}).items()),
            batch_size=5000)
        changed.update(differ)
    if changed:
        _days_rebuild(rollup, sorted({hour.date() for hour in changed}))
    return len(changed)


def _day_sums(rollup: Rollup, days: list[date] | None) -> Any:
    hourly = rollup.hourly.objects.all()
    if days is not None:
        hourly = hourly.filter(InSpans("hour", [(day_start(d), day_start(d) + DAY)
                                                for d in days]))
    return (hourly.annotate(d=TruncDate("hour", tzinfo=UTC))
            .values_list("partner_id", "dimension", "d", "value")
            .annotate(**{name: Sum(name) for name in rollup.figures}).order_by())


def _days_rebuild(rollup: Rollup, days: list[date] | None) -> None:
    """Rebuilds the daily rows of `days` (every day when None) from the hourly ones."""
    parts: list[list[date] | None] = [None] if days is None else [
        days[first:first + SPANS_PER_STATEMENT]
        for first in range(0, len(days), SPANS_PER_STATEMENT)]
    for part in parts:
        stored = rollup.daily.objects.all()
        (stored if part is None else stored.filter(day__in=part)).delete()
        rollup.daily.objects.bulk_create(
            (rollup.daily(partner_id=p, dimension=dimension, day=d, value=value,
                          **dict(zip(rollup.figures, figures, strict=True)))
             for p, dimension, d, value, *figures in _day_sums(rollup, part).iterator(
                 chunk_size=5000)),
            batch_size=5000)


def _days_check(rollup: Rollup, days: list[date]) -> int:
    """Rebuilds the daily rows of those `days` that differ from their hours' sums; returns
    how many did."""
    if not days:
        return 0

    def by_day(rows: Iterable[Any]) -> dict[date, dict[tuple[Any, ...], tuple[Any, ...]]]:
        out: dict[date, dict[tuple[Any, ...], tuple[Any, ...]]] = defaultdict(dict)
        for p, dimension, d, value, *figures in rows:
            if any(plain := _plain(figures)):
                out[d][(p, dimension, value)] = plain
        return out

    sums = by_day(_day_sums(rollup, days))
    stored = by_day(rollup.daily.objects.filter(day__in=days).values_list(
        "partner_id", "dimension", "day", "value", *rollup.figures))
    differ = sorted(d for d in days if sums.get(d) != stored.get(d))
    if differ:
        _days_rebuild(rollup, differ)
    return len(differ)


def _archived_days(days: Iterable[date]) -> set[date]:
    """The UTC days among `days` whose clicks were archived (their click rollups are the
    record)."""
    wanted = sorted(set(days))
    found: set[date] = set()
    for first in range(0, len(wanted), 1000):
        found.update(ClickDay.objects.filter(day__in=wanted[first:first + 1000])
                     .values_list("day", flat=True).distinct())
    return found


def _rebuildable(rollup: Rollup, hours: Iterable[datetime]) -> list[datetime]:
    hours = {hour.astimezone(UTC) for hour in hours}
    if rollup is not CLICKS or not hours:
        return sorted(hours)
    archived = _archived_days(hour.date() for hour in hours)
    return sorted(hour for hour in hours if hour.date() not in archived)


def _stale_round(rollup: Rollup, state: RollupState, *, settle: bool) -> int:
    """Rebuilds the hours marked stale; clears the marks the round before saw (every mark
    read, without `settle`). Returns how many hours differed. Inside the state's lock."""
    marks = StaleHour.objects.filter(source=rollup.source)
    top = marks.aggregate(top=Max("id"))["top"] or 0
    hours = set(marks.filter(id__lte=top).values_list("hour", flat=True).distinct())
    rebuilt = (_hours_replace(rollup, hour_spans(_rebuildable(rollup, hours)), state)
               if hours else 0)
    seen_field = f"{rollup.source}_stale_seen_id"
    marks.filter(id__lte=top if not settle else getattr(state, seen_field)).delete()
    setattr(state, seen_field, top)
    return rebuilt


# --- the worker's rounds --------------------------------------------------------------------


def clicks_roll_up(*, settle: bool = True) -> int:
    """Rolls up the clicks stored since the last round, then rebuilds the hours whose clicks
    were changed or deleted; returns how many ids it passed.

    With `settle` (the worker), a round rolls up to the highest id seen by the round before,
    so an insert still in flight when its id was given is not skipped. Without (tests, the
    demo's bulk load with nothing else writing), it rolls up to the highest id now.
    """
    RollupState.load()  # the row exists before it is locked
    top = Click.objects.aggregate(top=Max("id"))["top"] or 0
    passed = 0
    while True:
        with transaction.atomic():
            state = RollupState.objects.select_for_update().get(pk=1)
            if not state.archive_folded:
                _fold_archive()
                state.archive_folded = True
            goal = state.seen_id if settle else top
            high = min(goal, state.rolled_id + BATCH)
            if high > state.rolled_id:
                _add(_count(Q(id__gt=state.rolled_id, id__lte=high)))
                passed += high - state.rolled_id
                state.rolled_id = high
            done = state.rolled_id >= goal
            if done:
                state.seen_id = max(top, state.rolled_id)
                _stale_round(CLICKS, state, settle=settle)
            state.save()
        if done:
            return passed


def exchanges_roll_up(*, settle: bool = True) -> int:
    """Rebuilds the exchange rollups of every hour marked stale (an exchange made, changed,
    moved or deleted there); the first round builds them all. Returns how many hours it
    rebuilt (the first round: how many hourly rows it wrote).

    An hour is rebuilt whole from the exchange table rather than added to, so a round can be
    repeated without counting anything twice.
    """
    RollupState.load()
    with transaction.atomic():
        state = RollupState.objects.select_for_update().get(pk=1)
        if state.exchanges_at is None:
            done = _exchanges_build()
            _stale_round(EXCHANGES, state, settle=settle)
        else:
            done = _stale_round(EXCHANGES, state, settle=settle)
        state.exchanges_at = timezone.now()
        state.save()
    return done


def _exchanges_build() -> int:
    """Every exchange rollup, from the exchange table; returns how many hourly rows."""
    ExchangeRollup.objects.all().delete()
    rows = _exchange_rows(Q())
    ExchangeRollup.objects.bulk_create(
        (ExchangeRollup(partner_id=partner_id, dimension=dimension, hour=hour, value=value,
                        **dict(zip(EXCHANGES.figures, figures, strict=True)))
         for (partner_id, dimension, hour, value), figures in rows.items()),
        batch_size=5000)
    _days_rebuild(EXCHANGES, None)
    return len(rows)


def rollups_reconcile(*, now: datetime | None = None, rng: random.Random | None = None,
                      sampled_hours: int = SAMPLED_HOURS) -> int:
    """Compares the rollups of the last `RECENT_HOURS` hours and of `sampled_hours` random
    hours of the last `SAMPLED_DAYS_BACK` days (and those hours' days) with the raw rows,
    and repairs what differs; returns how many hours and days it repaired (each also counted
    as `obmin_rollup_repairs_total{source}`).

    An hour marked stale is left to the rounds (it differs by design until rebuilt)."""
    rng = rng or random.Random()
    current = (now or timezone.now()).astimezone(UTC).replace(minute=0, second=0,
                                                              microsecond=0)
    hours = {current - HOUR * back for back in range(RECENT_HOURS)}
    hours.update(current - HOUR * rng.randrange(RECENT_HOURS, SAMPLED_DAYS_BACK * 24)
                 for _n in range(sampled_hours))
    RollupState.load()
    repaired = 0
    with transaction.atomic():
        state = RollupState.objects.select_for_update().get(pk=1)
        for rollup in (CLICKS, EXCHANGES):
            if rollup is EXCHANGES and state.exchanges_at is None:
                continue  # not built yet: every figure is read raw
            stale = set(StaleHour.objects.filter(source=rollup.source, hour__in=sorted(hours))
                        .values_list("hour", flat=True))
            checked = [hour for hour in _rebuildable(rollup, hours) if hour not in stale]
            found = _hours_replace(rollup, hour_spans(checked), state)
            found += _days_check(rollup, sorted({hour.date() for hour in checked}))
            if found:
                logger.warning("statistics: %d %s rollup hours or days differed from the raw "
                               "rows and were rebuilt", found, rollup.source)
                metrics.count("obmin_rollup_repairs", found, source=rollup.source)
            repaired += found
    return repaired


# --- on demand ------------------------------------------------------------------------------


class Rebuilt(NamedTuple):
    click_hours: int  # hours rewritten (a whole rebuild: hourly rows written)
    exchange_hours: int
    archived_days: int  # days left as they are: their clicks were archived


def rollups_rebuild(*, since: date | None = None, now: datetime | None = None) -> Rebuilt:
    """Rebuilds the rollups from the raw rows: all of them, or the UTC days from `since`
    on (only the hours that differ are rewritten). Without `since`, the click rollups are
    dropped and built again from the raw clicks and the archived totals (archived days then
    keep their totals, not their breakdowns)."""
    clicks_roll_up(settle=False)
    if since is None:
        with transaction.atomic():
            ClickRollup.objects.all().delete()
            ClickDayRollup.objects.all().delete()
            RollupState.objects.all().delete()
            StaleHour.objects.all().delete()
        clicks_roll_up(settle=False)
        exchange_rows = exchanges_roll_up(settle=False)
        return Rebuilt(ClickRollup.objects.count(), exchange_rows,
                       ClickDay.objects.values("day").distinct().count())
    end = (now or timezone.now()).astimezone(UTC).date() + timedelta(days=2)
    days = [since + timedelta(days=n) for n in range((end - since).days)]
    archived = _archived_days(days)
    RollupState.load()
    with transaction.atomic():
        state = RollupState.objects.select_for_update().get(pk=1)
        clicks = _hours_replace(CLICKS, _day_runs([d for d in days if d not in archived]),
                                state)
        if state.exchanges_at is None:  # never built: every hour, not only the recent ones
            exchanges = _exchanges_build()
        else:
            exchanges = _hours_replace(EXCHANGES, _day_runs(days), state)
        state.exchanges_at = timezone.now()
        state.save()
    return Rebuilt(clicks, exchanges, len(archived))


def _day_runs(days: list[date]) -> list[Span]:
    spans: list[Span] = []
    for day in days:
        start = day_start(day)
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], start + DAY)
        else:
            spans.append((start, start + DAY))
    return spans
