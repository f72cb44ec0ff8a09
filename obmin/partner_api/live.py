"""A live key's answers: its partner's real rows, read through request.partner.

Every query starts from the partner (isolation by construction) and long lists are read from
the database as raw rows, straight into the `records.py` row types.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import chain, islice
from typing import Any, TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BigIntegerField, Func, QuerySet
from django.db.models.sql.compiler import SQLCompiler

from obmin.exchange.models import Currency, ExchangeStatusChange
from obmin.lib.ipmask import mask_ip
from obmin.lib.timeutil import from_unix
from obmin.partner_api.envelope import ApiError
from obmin.partner_api.records import ClickRow, ExchangeRow, Info, PayoutRow, Window
from obmin.partners.models import Partner
from obmin.partners.program import program_settings
from obmin.partners.selectors import partner_links
from obmin.rewards.selectors import (
    partner_balances,
    partner_min_payout,
    partner_payouts,
    partner_total_paid,
    payout_methods_for,
)
from obmin.rewards.services import PayoutError, payout_request

# Rows fetched per round trip while streaming; the status history of an exchange is read for a
# whole chunk at once (one query per chunk, never one per exchange).
CHUNK = 2000

T = TypeVar("T")


class UnixSeconds(Func):
    """Unix seconds of a datetime column, computed by the database.

    Streaming a million rows, Django's per-value datetime conversion is the largest cost of
    all; the database does the same work in C for free.
    """

    output_field = BigIntegerField()

    def as_sqlite(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper,
                  **extra: Any) -> tuple[str, Any]:
        if sqlite3.sqlite_version_info >= (3, 38):
            # A third of strftime's cost per row, which a year's stream pays a million times.
            return self.as_sql(compiler, connection, template="unixepoch(%(expressions)s)",
                               **extra)
        # `%%%%s` survives both Django's template and its qmark conversion as `%s`.
        return self.as_sql(compiler, connection,
                           template="CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)",
                           **extra)

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper,
                      **extra: Any) -> tuple[str, Any]:
        return self.as_sql(compiler, connection,
                           template="FLOOR(EXTRACT(EPOCH FROM %(expressions)s))::bigint",
                           **extra)


def raw_rows(queryset: QuerySet, *, alone: bool = False) -> Iterator[tuple[Any, ...]]:
    """A values_list queryset's rows as the driver returns them, CHUNK at a time.

    Leaves out Django's per-value converters, half the cost of a long answer: it is used only
    for columns that need none (text, integers, booleans, UnixSeconds) and amounts, which
    envelope.number writes alike from Decimal (PostgreSQL) and int or float (SQLite's storage).
    Columns come in the order values_list names them (Django 5.2 selects them so).
    Memory stays flat however many rows there are.

    On PostgreSQL, `alone` says that nothing else is asked of the connection until the rows are
    read: outside a transaction (as answers are streamed) they are then streamed by libpq's
    chunked mode, the server sending the next rows while these are written. Otherwise a
    server-side cursor fetches them, which outside a transaction is declared WITH HOLD: the
    server computes the whole result before the first row, and waits between fetches. A year
    of get_links came in half the time (in process, 1,000,000 clicks). Inside a transaction the
    cursor is lazy anyway, and cancelling an abandoned stream would abort the transaction.
    """
    connection = connections[queryset.db]
    if alone and connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _streamed(queryset)
    # chain, not `yield from`: no Python step per row, only per chunk.
    return chain.from_iterable(_fetched(queryset))


def _streamed(queryset: QuerySet) -> Iterator[tuple[Any, ...]]:
    sql, params = queryset.query.sql_with_params()
    connection = connections[queryset.db]
    with connection.cursor() as cursor, connection.wrap_database_errors:
        # The driver's own cursor (its errors made Django's as usual); psycopg's stream
        # cancels the query if the answer is abandoned half-way (a client that went away).
        yield from cursor.cursor.stream(sql, params, size=CHUNK)


def _fetched(queryset: QuerySet) -> Iterator[list[tuple[Any, ...]]]:
    sql, params = queryset.query.sql_with_params()
    connection = connections[queryset.db]
    # As QuerySet.iterator does: behind a transaction-pooling proxy (pgbouncer) server-side
    # cursors are switched off, and the driver then holds the result client-side.
    server_side = not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
    with (connection.chunked_cursor() if server_side else connection.cursor()) as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK):
            yield rows


# An exchange's columns as selected: ExchangeRow's first ten fields, then the currencies' ids
# (their codes and the status history are added per chunk), then the source, `updated` and
# the customer's address (masked per chunk when the operator masks addresses).
EXCHANGE_COLUMNS = ("id", "created", "rate_give", "rate_get", "amount_give", "amount_get",
                    "status", "reward_accrued", "partner_reward", "user_hash",
                    "currency_give_id", "currency_get_id",
                    "sub1", "sub2", "sub3", "sub4", "sub5", "country", "updated", "user_ip")
_CREATED = EXCHANGE_COLUMNS.index("created")


def _batches(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class LiveSource:
    """The partner's own rows; every query starts from the partner (isolation by construction)."""

    def __init__(self, partner: Partner) -> None:
        self.partner = partner

    def info(self) -> Info:
        partner = self.partner
        balances = partner_balances(partner.pk)
        return Info(
            balance=balances.payable,
            pending=balances.pending,
            total_paid=partner_total_paid(partner),
            link=partner.referral_link,
            min_payout=partner_min_payout(partner),
            methods=payout_methods_for(partner),
        )

    def links(self, window: Window, ip: str = "") -> Iterator[ClickRow]:
        clicks = partner_links(partner=self.partner, ip=ip or None)
        if window.newest_first:
            clicks = clicks.order_by("-created_at", "-id")
        clicks = window.page(clicks.annotate(created=UnixSeconds("created_at")))
        return map(ClickRow._make, raw_rows(clicks.values_list(*ClickRow._fields), alone=True))

    def exchanges(self, window: Window, ip: str = "") -> Iterator[ExchangeRow]:
        exchanges = self.partner.exchanges.all()
        mask = program_settings().mask_ips
        wanted = (mask_ip(ip) if mask else ip) if ip else ""
        paged = window
        if wanted:
            # Addresses are stored whole and compared as partners see them: the database
            # narrows to a superset (the /24 of an IPv4, any IPv6 when masked), the masked
            # comparison below decides, and the window's offset and limit are applied after it.
            if not mask:
                exchanges = exchanges.filter(user_ip=wanted)
            elif ":" in wanted:
                exchanges = exchanges.filter(user_ip__contains=":")
            else:
                exchanges = exchanges.filter(user_ip__startswith=wanted.rsplit(".", 1)[0] + ".")
            paged = replace(window, offset=0, limit=None)
        if window.updated_since is None:
            exchanges = exchanges.order_by(*(("-created_at", "-id") if window.newest_first
                                             else ("created_at", "id")))
        else:
            # Incremental sync: what changed since, in the order it changed (the
            # (partner, updated_at) index), so a script keeps the last updated_time it saw.
            exchanges = (exchanges.filter(updated_at__gte=window.updated_since)
                         .order_by("updated_at", "id"))
        exchanges = paged.page(exchanges.annotate(created=UnixSeconds("created_at"),
                                                  updated=UnixSeconds("updated_at")))
        rows = self._with_history(raw_rows(exchanges.values_list(*EXCHANGE_COLUMNS)),
                                  by_creation=window.updated_since is None, mask=mask)
        if not wanted:
            return rows
        stop = None if window.limit is None else window.offset + window.limit
        return islice((row for row in rows if row.user_ip == wanted), window.offset, stop)

    def _with_history(self, rows: Iterator[tuple[Any, ...]], *,
                      by_creation: bool = True, mask: bool = True) -> Iterator[ExchangeRow]:
        # A small table, read once per request rather than joined into every row.
        codes = dict(Currency.objects.values_list("id", "code"))
        for batch in _batches(rows, CHUNK):
            history: dict[int, list[tuple[int, str]]] = defaultdict(list)
            of_batch = ExchangeStatusChange.objects.filter(exchange__partner=self.partner)
            if by_creation:
                # The chunk's time span rather than a list of 2000 ids: one range on the
                # (partner, created_at) index, and no 2000 parameters to build and bind.
                # Histories of neighbours that share a boundary second are read and ignored.
                first, last = sorted((batch[0][_CREATED], batch[-1][_CREATED]))
                of_batch = of_batch.filter(exchange__created_at__gte=from_unix(first),
                                           exchange__created_at__lt=from_unix(last + 1))
            else:
                # In the order of change, creation times are scattered: by id.
                of_batch = of_batch.filter(exchange_id__in=[row[0] for row in batch])
            changes = (of_batch.order_by("exchange_id", "created_at", "id")
                       .annotate(unix=UnixSeconds("created_at"))
                       .values_list("exchange_id", "status", "unix"))
            for exchange_id, status, unix in raw_rows(changes):
                history[exchange_id].append((unix, status))
            # Unpacked by name (EXCHANGE_COLUMNS) and made an ExchangeRow in one step: a
            # NamedTuple of the columns first would double the per-exchange cost here.
            for (id_, created, rate_give, rate_get, amount_give, amount_get, status, accrued,
                 reward, user_hash, give_id, get_id, sub1, sub2, sub3, sub4, sub5, country,
                 updated, user_ip) in batch:
                # PostgreSQL's driver may give an inet column as an address object.
                address = "" if user_ip is None else str(user_ip)
                yield ExchangeRow._make((
                    id_, created, rate_give, rate_get, amount_give, amount_get, status,
                    bool(accrued), reward, user_hash, codes.get(give_id, ""),
                    codes.get(get_id, ""), history.get(id_, []), sub1, sub2, sub3, sub4, sub5,
                    country, updated, mask_ip(address) if mask and address else address))

    def payouts(self, window: Window) -> Iterator[PayoutRow]:
        # partner_payouts filters the time itself; the window only pages.
        payouts = partner_payouts(self.partner, window.start, window.end)
        if window.newest_first:
            payouts = payouts.order_by("-id")
        paged = Window(offset=window.offset, limit=window.limit).page(
            payouts.annotate(created=UnixSeconds("created_at")))
        return map(PayoutRow._make,
                   paged.values_list(*PayoutRow._fields).iterator(chunk_size=CHUNK))

    def add_payout(self, method_id: str, account: str) -> int:
        try:
            payout = payout_request(partner=self.partner, method_id=method_id, account=account)
        except PayoutError as error:
            raise ApiError(4, f"{error.field or 'method_id'}: {error.message}") from None
        return payout.pk
