"""Keeping the click rollups: the worker's duty `clicks_roll_up`.

Clicks are rolled up by id, not by time: a click queued in Redis or spooled to a file while the
database was down arrives late with its own (past) time, and is still rolled up once, into the
hour it happened. Rows are only ever added to (an upsert adds counts), so the rollups never
depend on raw clicks still being there: `obmin clicks archive` may delete them afterwards.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncHour

from obmin.lib.timeutil import day_start
from obmin.partners.models import Click, ClickDay
from obmin.stats.dimensions import ROLLED, click_column, value_of
from obmin.stats.models import ClickRollup, RollupState

# Clicks read per transaction; a year of a million clicks takes a few of them.
BATCH = 250_000
Key = tuple[int, str, datetime, str]  # partner, dimension, hour, value
UNNEST_SQL = ("INSERT INTO stats_clickrollup "
              "(partner_id, dimension, hour, value, clicks, unique_clicks) "
              "SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[], "
              "%s::varchar[], %s::integer[], %s::integer[]) "
              "ON CONFLICT (partner_id, dimension, hour, value) DO UPDATE SET "
              "clicks = stats_clickrollup.clicks + excluded.clicks, "
              "unique_clicks = stats_clickrollup.unique_clicks + excluded.unique_clicks")


def _add(counts: dict[Key, list[int]]) -> None:
    """Adds `counts` to the rollup rows (made when missing) in one statement per 1,000."""
    if not counts:
        return
    hour_field = ClickRollup._meta.get_field("hour")
    sql = ("INSERT INTO stats_clickrollup "
           "(partner_id, dimension, hour, value, clicks, unique_clicks) "
           "VALUES (%s, %s, %s, %s, %s, %s) "
           "ON CONFLICT (partner_id, dimension, hour, value) DO UPDATE SET "
           "clicks = stats_clickrollup.clicks + excluded.clicks, "
           "unique_clicks = stats_clickrollup.unique_clicks + excluded.unique_clicks")
    rows = [(partner_id, dimension, hour_field.get_db_prep_value(hour, connection), value,
             clicks, unique)
            for (partner_id, dimension, hour, value), (clicks, unique) in counts.items()]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement per 20,000 rows, as arrays: a year's first build is a million rows.
            for first in range(0, len(rows), 20_000):
                cursor.execute(UNNEST_SQL, [list(column) for column in
                                            zip(*rows[first:first + 20_000], strict=True)])
            return
        for first in range(0, len(rows), 1000):
            cursor.executemany(sql, rows[first:first + 1000])


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
        RollupState.objects.all().delete()
    return clicks_roll_up(settle=False)

