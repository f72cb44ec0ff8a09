"""Partitions the click table by month on PostgreSQL (other databases: nothing to do).

The table is rebuilt in place, in the migration's one transaction: a new table `PARTITION BY
RANGE (created_at)` with the same columns, defaults and identity, every row copied with its id,
the id identity continuing after the highest id ever given, and every index and constraint
recreated under its old name (the names Django's migration state knows). The primary key
becomes (id, created_at): a unique key of a partitioned table must hold the partition key.
Django keeps `id` as the model's pk; ids still come from the identity, so they stay unique.

Partitions: a DEFAULT one (an insert never fails for want of a month), and one per UTC month
from the oldest click's to two months ahead; later months are created by the worker
(`obmin.partners.partitions.click_partitions_ensure`), and whole old months dropped by the
archive. This file does not import that module: a migration must do today what it did when
it was written. Names and bounds are the same as that module's.

The click table is locked (ACCESS EXCLUSIVE) while it is copied: clicks wait meanwhile.
Reversing rebuilds one plain table the same way, keeping every row and id.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.backends.utils import CursorWrapper
from django.db.migrations.state import StateApps

TABLE = "partners_click"
REBUILT = "partners_click_rebuilt"
MONTHS_AHEAD = 2


def _month(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def _next_month(month: datetime) -> datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def _constraints(cursor: CursorWrapper) -> list[tuple[str, str, str]]:
    """(name, type, definition) of the table's keys, foreign keys and checks."""
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f', 'c', 'x') "
        "ORDER BY contype = 'f', conname", [TABLE])
    return cursor.fetchall()


def _indexes(cursor: CursorWrapper) -> list[str]:
    """CREATE INDEX statements of the indexes that back no constraint."""
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = %s::regclass AND NOT EXISTS ("
        "  SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid"
        "  AND c.conrelid = i.indrelid) "
        "ORDER BY i.indexrelid", [TABLE])
    # A partitioned table's index reads "ON ONLY table"; created anew, it reaches every partition.
    return [row[0].replace(" ON ONLY ", " ON ") for row in cursor.fetchall()]


def _create_partitions(cursor: CursorWrapper) -> None:
    cursor.execute(f"CREATE TABLE {TABLE}_default PARTITION OF {REBUILT} DEFAULT")
    cursor.execute(f"SELECT min(created_at), now() FROM {TABLE}")  # noqa: S608
    oldest, now = cursor.fetchone()
    month, last = _month(oldest or now), _month(now)
    for _ in range(MONTHS_AHEAD):
        last = _next_month(last)
    while month <= last:
        end = _next_month(month)
        cursor.execute(
            f"CREATE TABLE {TABLE}_{month:%Y_%m} PARTITION OF {REBUILT} "
            f"FOR VALUES FROM ('{month.isoformat()}') TO ('{end.isoformat()}')")
        month = end


def _rebuild(schema_editor: BaseDatabaseSchemaEditor, *, partitioned: bool) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        constraints, indexes = _constraints(cursor), _indexes(cursor)
        cursor.execute(f"SELECT pg_get_serial_sequence('{TABLE}', 'id')")
        (sequence,) = cursor.fetchone()
        # Constraints and indexes are left out here and recreated after the copy, under the old
        # names once the old table is gone (and faster than row by row).
        cursor.execute(
            f"CREATE TABLE {REBUILT} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING IDENTITY "
            f"INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS)"
            + (" PARTITION BY RANGE (created_at)" if partitioned else ""))
        if partitioned:
            _create_partitions(cursor)
        cursor.execute(
            f"INSERT INTO {REBUILT} OVERRIDING SYSTEM VALUE SELECT * FROM {TABLE}")  # noqa: S608
        # After every id ever given, not only the highest kept: an id handed to a click that
        # was rolled back or deleted is never given again, as before.
        cursor.execute(f"SELECT last_value + is_called::int FROM {sequence}")  # noqa: S608
        (next_id,) = cursor.fetchone()
        cursor.execute(f"SELECT max(id) + 1 FROM {TABLE}")  # noqa: S608
        next_id = max(next_id, cursor.fetchone()[0] or 1)
        cursor.execute(f"DROP TABLE {TABLE}")
        cursor.execute(f"ALTER TABLE {REBUILT} RENAME TO {TABLE}")
        cursor.execute(f"SELECT pg_get_serial_sequence('{TABLE}', 'id')")
        (new_sequence,) = cursor.fetchone()
        cursor.execute(f"ALTER SEQUENCE {new_sequence} RENAME TO {TABLE}_id_seq")
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id RESTART WITH {int(next_id)}")
        for name, kind, definition in constraints:
            if kind == "p":
                definition = "PRIMARY KEY (id, created_at)" if partitioned else "PRIMARY KEY (id)"
            cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
        for statement in indexes:
            cursor.execute(statement)
        cursor.execute(f"ANALYZE {TABLE}")


def partition(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _rebuild(schema_editor, partitioned=True)


def unpartition(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _rebuild(schema_editor, partitioned=False)


class Migration(migrations.Migration):

    dependencies = [
        ('partners', '0006_click_uid'),
    ]

    operations = [
        migrations.RunPython(partition, unpartition),
    ]
