"""Keeping the rollups: the worker's duties `clicks_roll_up` and `exchanges_roll_up`.

Clicks are rolled up by id, not by time: a click queued in Redis or spooled to a file while the
database was down arrives late with its own (past) time, and is still rolled up once, into the
hour it happened. Rows are only ever added to (an upsert adds counts), so the rollups never
depend on raw clicks still being there: `obmin clicks archive` may delete them afterwards.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from obmin.exchange.models import Exchange
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
)
from obmin.stats.selectors import EXCHANGE_OVERLAP, EXCHANGE_SUMS, direction_value

# Clicks read per transaction. A year's ids are spread over all its hours, so each batch
# touches nearly every rollup row: the first build of a year of a million clicks is one batch.
BATCH = 1_000_000
Key = tuple[int, str, datetime, str]  # partner, dimension, hour, value
DayKey = tuple[int, str, date, str]  # partner, dimension, UTC day, value


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


def _count(low: int, high: int) -> dict[Key, list[int]]:
    """The rollup increments of the clicks with ids in (low, high], crawlers left out."""
    counts: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    clicks = (Click.objects.filter(id__gt=low, id__lte=high, is_bot=False)
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


def clicks_roll_up(*, settle: bool = True) -> int:
    """Rolls up the clicks stored since the last round; returns how many ids it passed.

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
                _add(_count(state.rolled_id, high))
                passed += high - state.rolled_id
                state.rolled_id = high
            done = state.rolled_id >= goal
            if done:
                state.seen_id = max(top, state.rolled_id)
            state.save()
        if done:
            return passed


def rollups_rebuild() -> int:
    """Drops every rollup and builds them again from the raw clicks and the archived totals."""
    with transaction.atomic():
        ClickRollup.objects.all().delete()
        ClickDayRollup.objects.all().delete()
        RollupState.objects.all().delete()
    return clicks_roll_up(settle=False)


# --- exchanges ------------------------------------------------------------------------------

HOUR = timedelta(hours=1)
HOURS_PER_STATEMENT = 500


def _hour_ranges(field: str, hours: list[datetime]) -> Q:
    q = Q()
    for hour in hours:
        q |= Q(**{f"{field}__gte": hour, f"{field}__lt": hour + HOUR})
    return q


def _exchange_hours(hours: list[datetime] | None) -> int:
    """Rebuilds the hourly exchange rollups of `hours` (every hour when None) from the
    exchange table; returns how many rows it wrote."""
    if hours is None:
        ExchangeRollup.objects.all().delete()
        chunks: list[Q] = [Q()]
    else:
        chunks = []
        for first in range(0, len(hours), HOURS_PER_STATEMENT):
            part = hours[first:first + HOURS_PER_STATEMENT]
            ExchangeRollup.objects.filter(hour__in=part).delete()
            chunks.append(_hour_ranges("created_at", part))
    written = 0
    for q in chunks:
        exchanges = (Exchange.objects.filter(q).exclude(partner=None)
                     .annotate(h=TruncHour("created_at", tzinfo=UTC)))
        rows: list[ExchangeRollup] = []
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
                rows.append(ExchangeRollup(partner_id=row[0], dimension=dimension, hour=row[1],
                                           value=value, exchanges=n, successful=s,
                                           turnover=t or 0, rewards=r or 0))
        ExchangeRollup.objects.bulk_create(rows, batch_size=5000)
        written += len(rows)
    return written


def _exchange_days(days: list[date] | None) -> None:
    """Rebuilds the daily exchange rollups of `days` (every day when None) from the hourly
    ones."""
    hourly = ExchangeRollup.objects.all()
    if days is None:
        ExchangeDayRollup.objects.all().delete()
    else:
        ExchangeDayRollup.objects.filter(day__in=days).delete()
        q = Q()
        for day in days:
            q |= Q(hour__gte=day_start(day), hour__lt=day_start(day + timedelta(days=1)))
        hourly = hourly.filter(q)
    grouped = (hourly.annotate(d=TruncDate("hour", tzinfo=UTC))
               .values_list("partner_id", "dimension", "d", "value")
               .annotate(n=Sum("exchanges"), s=Sum("successful"), t=Sum("turnover"),
                         r=Sum("rewards")).order_by())
    ExchangeDayRollup.objects.bulk_create(
        (ExchangeDayRollup(partner_id=p, dimension=dimension, day=d, value=value, exchanges=n,
                           successful=s_, turnover=t, rewards=r)
         for p, dimension, d, value, n, s_, t, r in grouped.iterator(chunk_size=5000)),
        batch_size=5000)


def exchanges_roll_up() -> int:
    """Rebuilds the exchange rollups of every hour holding an exchange changed (or made)
    since the last round, less `EXCHANGE_OVERLAP`; the first round builds them all. Returns
    how many hourly rows it wrote.

    An exchange's status, reward and accrual change after the fact and move its `updated_at`,
    so an hour is rebuilt whole from the exchange table rather than added to: a round can be
    repeated or overlap the one before without counting anything twice.
    """
    RollupState.load()
    with transaction.atomic():
        state = RollupState.objects.select_for_update().get(pk=1)
        now = timezone.now()
        if state.exchanges_at is None:
            written = _exchange_hours(None)
            _exchange_days(None)
        else:
            hours = sorted(set(
                Exchange.objects.filter(updated_at__gte=state.exchanges_at - EXCHANGE_OVERLAP)
                .annotate(h=TruncHour("created_at", tzinfo=UTC))
                .values_list("h", flat=True).order_by()))
            written = _exchange_hours(hours)
            if hours:
                _exchange_days(sorted({h.astimezone(UTC).date() for h in hours}))
        state.exchanges_at = now
        state.save()
    return written

