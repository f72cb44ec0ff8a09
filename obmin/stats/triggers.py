"""Database triggers that mark the hours a write touches in `StaleHour`, whatever made the
write: the ORM, a bulk `update()` that leaves `updated_at` alone, a raw INSERT or COPY of an
import, a DELETE, a move to another partner or another hour (both hours are marked).

Exchanges: every INSERT, UPDATE and DELETE of a referred exchange (its old and its new
hour). Clicks: UPDATE and DELETE only, so the click INSERT of `/ref/` pays nothing (new clicks
are rolled up by id). On PostgreSQL they are statement-level triggers reading the
statement's transition tables (one INSERT of distinct hours per statement, also for the click
table's partitions); on SQLite, row triggers that skip an hour already marked (SQLite runs
one writer at a time, so the skip cannot race a round clearing the mark).

They are (re)installed after every `migrate` (`StatsConfig.ready` connects `post_migrate`):
a migration that rebuilds the exchange or click table (SQLite rebuilds a table to alter a
column, and drops its triggers with it) cannot leave them missing.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

from obmin.exchange.models import Exchange
from obmin.partners.models import Click
from obmin.stats.models import StaleHour, StaleSource

# The SQL below is built from the models' table names and fixed words only (no input).

# source -> (model, the events marked, only rows with a partner)
WATCHED: dict[str, tuple[Any, tuple[str, ...], bool]] = {
    StaleSource.EXCHANGES: (Exchange, ("INSERT", "UPDATE", "DELETE"), True),
    StaleSource.CLICKS: (Click, ("UPDATE", "DELETE"), False),
}


def _sqlite(source: str, table: str, event: str, partnered: bool) -> list[str]:
    stale = StaleHour._meta.db_table
    name = f"stats_stale_{source}_{event.lower()}"
    rows = {"INSERT": ["NEW"], "UPDATE": ["OLD", "NEW"], "DELETE": ["OLD"]}[event]
    body = ""
    for row in rows:
        hour = f"strftime('%Y-%m-%d %H:00:00', {row}.created_at)"
        condition = f" AND {row}.partner_id IS NOT NULL" if partnered else ""
        body += (f"INSERT INTO {stale} (source, hour) SELECT '{source}', {hour} "  # noqa: S608
                 f"WHERE NOT EXISTS (SELECT 1 FROM {stale} WHERE source = '{source}' "
                 f"AND hour = {hour}){condition}; ")
    return [f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW BEGIN {body}END"]


def _postgresql(source: str, table: str, events: tuple[str, ...], partnered: bool) -> list[str]:
    stale = StaleHour._meta.db_table
    function = f"stats_mark_stale_{source}"
    condition = " WHERE partner_id IS NOT NULL" if partnered else ""

    def hours(transition: str) -> str:
        return (f"SELECT date_trunc('hour', created_at, 'UTC') AS hour "  # noqa: S608
                f"FROM {transition}{condition}")

    statements = [f"""
        CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- Migrated back to before the marks' table (a rollback, a data migration run on
            -- the way forward again): nothing to mark, and the write must not fail.
            IF to_regclass('{stale}') IS NULL THEN
                RETURN NULL;
            END IF;
            IF TG_OP = 'INSERT' THEN
                INSERT INTO {stale} (source, hour)
                SELECT DISTINCT '{source}', hour FROM ({hours('new_rows')}) AS h;
            ELSIF TG_OP = 'UPDATE' THEN
                INSERT INTO {stale} (source, hour)
                SELECT '{source}', hour FROM ({hours('old_rows')} UNION
                                             {hours('new_rows')}) AS h;
            ELSE
                INSERT INTO {stale} (source, hour)
                SELECT DISTINCT '{source}', hour FROM ({hours('old_rows')}) AS h;
            END IF;
            RETURN NULL;
        END $$"""]  # noqa: S608 (names from the models)
    referencing = {"INSERT": "NEW TABLE AS new_rows",
                   "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                   "DELETE": "OLD TABLE AS old_rows"}
    for event in events:
        name = f"stats_stale_{source}_{event.lower()}"
        statements += [f"DROP TRIGGER IF EXISTS {name} ON {table}",
                       f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                       f"REFERENCING {referencing[event]} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION {function}()"]
    return statements


def stale_triggers_install(*, using: str = "default", **_signal: Any) -> None:
    """Creates (or replaces) the triggers on the database `using`; a `post_migrate`
    receiver too."""
    connection = connections[using]
    statements: list[str] = []
    for source, (model, events, partnered) in WATCHED.items():
        table = connection.ops.quote_name(model._meta.db_table)
        if connection.vendor == "postgresql":
            statements += _postgresql(source, table, events, partnered)
        elif connection.vendor == "sqlite":
            for event in events:
                statements += _sqlite(source, table, event, partnered)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
