"""Monthly partitions of the click table on PostgreSQL (made by migration 0007): the worker
creates them ahead every hour, and the archive drops whole old ones (`clicks_archive`). Other
databases keep one plain table, and here have nothing to do.

A partition holds the clicks of one UTC month, [first instant, first instant of the next); the
DEFAULT partition takes any click no monthly one does, so an insert never fails.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import NamedTuple

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from obmin.partners.models import Click

MONTHS_AHEAD = 2  # created beyond the current month
# The transaction-level advisory lock every change of the partitions takes, so that workers
# creating the same month, or archivers dropping the same one, take turns. Any number unique
# among Obmin's advisory locks.
PARTITIONS_LOCK = 70_010_007
# How long a change of the partitions waits for a lock before it gives up (and is tried
# again later): while it waits, clicks queue behind it.
LOCK_TIMEOUT = "3s"
# pg_get_expr of a partition's bound: FOR VALUES FROM ('2026-03-01 00:00:00+00') TO ('…').
_BOUND = re.compile(r"FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)")


class Partition(NamedTuple):
    name: str
    start: datetime  # first instant inside
    end: datetime  # first instant after


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(month: datetime) -> datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def partition_name(month: datetime) -> str:
    return f"{Click._meta.db_table}_{month:%Y_%m}"


def clicks_partitioned() -> bool:
    """Whether the click table is partitioned (PostgreSQL with migration 0007 applied)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)",
                       [Click._meta.db_table])
        return cursor.fetchone() is not None


def click_partitions() -> list[Partition]:
    """The click table's ranged partitions, oldest first (the DEFAULT one left out); none on
    a database without them."""
    if not clicks_partitioned():
        return []
    with connection.cursor() as cursor:
        partitions = []
        for name, bound in _children(cursor):
            match = _BOUND.fullmatch(bound or "")  # None: being dropped meanwhile
            if match:
                start, end = (datetime.fromisoformat(value) for value in match.groups())
                partitions.append(Partition(name, start.astimezone(UTC), end.astimezone(UTC)))
    return sorted(partitions, key=lambda partition: partition.start)


def _children(cursor: CursorWrapper) -> list[tuple[str, str | None]]:
    """(name, bound) of every partition; the bound as PostgreSQL writes it (offsets in the
    session's time zone, which `fromisoformat` reads whatever it is), None for a partition
    another transaction has just dropped."""
    cursor.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
        [Click._meta.db_table])
    return cursor.fetchall()


def partitions_lock() -> None:
    """Takes, until the current transaction ends, the lock of every change to the click
    partitions and of every archive batch (PostgreSQL): they take turns, so concurrent ones
    cannot deadlock on the click table. Table locks are then waited for `LOCK_TIMEOUT` at
    most."""
    assert connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PARTITIONS_LOCK])
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")


def click_partitions_ensure(*, now: datetime | None = None) -> int:
    """Creates the partitions of this UTC month and the next `MONTHS_AHEAD` that are missing;
    returns how many it created. Idempotent; concurrent callers take turns.

    Clicks of such a month that the DEFAULT partition took meanwhile are moved into the new
    partition in the same transaction (PostgreSQL refuses to attach it otherwise).
    """
    if not clicks_partitioned():
        return 0
    month = month_start(now or timezone.now())
    wanted = [month]
    for _ in range(MONTHS_AHEAD):
        wanted.append(next_month(wanted[-1]))
    created = 0
    with transaction.atomic(), connection.cursor() as cursor:
        partitions_lock()
        existing = click_partitions()
        for start in wanted:
            end = next_month(start)
            if not any(p.start < end and start < p.end for p in existing):
                _partition_create(cursor, start, end)
                created += 1
    return created


def _partition_create(cursor: CursorWrapper, start: datetime, end: datetime) -> None:
    """Made as a plain table, filled from DEFAULT, then attached: ATTACH PARTITION locks the
    click table only against other changes of its partitions (SHARE UPDATE EXCLUSIVE), where
    CREATE TABLE … PARTITION OF would stop every click meanwhile. Attaching gives the new
    table the click table's keys and indexes."""
    quote = connection.ops.quote_name
    table, name = quote(Click._meta.db_table), quote(partition_name(start))
    bounds = f"FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    default = next((child for child, bound in _children(cursor) if bound == "DEFAULT"), None)
    # In the order queries lock them (the table, then its partitions), so no deadlock.
    cursor.execute(f"LOCK TABLE {table} IN SHARE UPDATE EXCLUSIVE MODE")
    cursor.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING STORAGE)")
    if default is not None:
        cursor.execute(f"LOCK TABLE {quote(default)} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {quote(default)} "  # noqa: S608
            f"WHERE created_at >= %s AND created_at < %s RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved", [start, end])
    cursor.execute(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES {bounds}")


def click_partition_drop(partition: Partition) -> None:
    """Drops a partition with its clicks; to be called inside a transaction that holds
    `partitions_lock()`. Dropping locks the whole click table until the transaction ends: the
    caller commits at once."""
    # PostgreSQL refuses to drop a table with foreign-key checks still deferred: clicks that
    # an enclosing transaction (a test's) wrote into it are checked now.
    connection.check_constraints()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {connection.ops.quote_name(partition.name)}")
