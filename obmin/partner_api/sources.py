"""Where api.php answers come from: the partner's real data, read through request.partner.

A source yields plain records (tuples in the order of the `*Row` names below, internal names);
`answers.py` turns them into the wire format. The sandbox (`sandbox.py`) is the other source,
with the same methods, so a test key exercises the very code a live key does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from django.db import connections
from django.db.models import BigIntegerField, Func, QuerySet

from obmin.exchange.models import Currency, ExchangeStatusChange
from obmin.lib.timeutil import from_unix
from obmin.partner_api.wire import ApiError
from obmin.partners.models import Partner
from obmin.partners.selectors import partner_links
from obmin.rewards.selectors import (
    partner_balance,
    partner_min_payout,
    partner_payouts,
    partner_total_paid,
    payout_methods_for,
)
from obmin.rewards.services import PayoutError, payout_request

# Rows fetched per round trip while streaming; the status history of an exchange is read for a
# whole chunk at once (one query per chunk, never one per exchange).
CHUNK = 2000

# Records carry times as unix seconds and amounts as Decimal, or as the database driver gives
# them (int or float from SQLite): wire.number writes each of them exactly.
Amount = Decimal | int | float
# (id, created unix, browser, ip, referrer, user_hash, query_string)
ClickRow = tuple[int, int, str, str, str, str, str]
# (id, created unix, rate_give, rate_get, amount_give, amount_get, status, reward_accrued,
#  partner_reward, user_hash, currency_give code, currency_get code,
#  [(unix, status), ...] oldest first)
ExchangeRow = tuple[int, int, Amount, Amount, Amount, Amount, str, bool, Amount, str, str, str,
                    list[tuple[int, str]]]
# (id, created unix, method_id, account, amount, currency_code, original_amount,
#  original_currency_code, status 0..3)
PayoutRow = tuple[int, int, int, str, Amount, str, Amount, str, int]


class UnixSeconds(Func):
    """Unix seconds of a datetime column, computed by the database.

    Streaming a million rows, Django's per-value datetime conversion is the largest cost of
    all; the database does the same work in C for free.
    """

    output_field = BigIntegerField()

    def as_sqlite(self, compiler, connection, **extra):  # type: ignore[no-untyped-def]
        # `%%%%s` survives both Django's template and its qmark conversion as `%s`.
        return self.as_sql(compiler, connection,
                           template="CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)",
                           **extra)

    def as_postgresql(self, compiler, connection, **extra):  # type: ignore[no-untyped-def]
        return self.as_sql(compiler, connection,
                           template="FLOOR(EXTRACT(EPOCH FROM %(expressions)s))::bigint",
                           **extra)


def raw_rows(queryset: QuerySet) -> Iterator[tuple]:
    """A values_list queryset's rows as the driver returns them, fetched CHUNK at a time.

    Leaves out Django's per-value converters, half the cost of a long answer: it is used only
    for columns that need none (text, integers, booleans, UnixSeconds) and amounts, which
    wire.number writes alike from Decimal (PostgreSQL) and int or float (SQLite's storage).
    A server-side cursor on PostgreSQL, so memory stays flat however many rows there are.
    """
    sql, params = queryset.query.sql_with_params()
    connection = connections[queryset.db]
    # As QuerySet.iterator does: behind a transaction-pooling proxy (pgbouncer) server-side
    # cursors are switched off, and the driver then holds the result client-side.
    server_side = not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
    with (connection.chunked_cursor() if server_side else connection.cursor()) as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK):
            yield from rows


@dataclass(frozen=True)
class Window:
    """Which items a list method asks for: [start, end] inclusive, then offset and limit."""

    start: datetime | None = None
    end: datetime | None = None
    offset: int = 0
    limit: int | None = None

    def page(self, queryset: QuerySet) -> QuerySet:
        if self.start is not None:
            queryset = queryset.filter(created_at__gte=self.start)
        if self.end is not None:
            queryset = queryset.filter(created_at__lte=self.end)
        if self.limit is not None:
            return queryset[self.offset:self.offset + self.limit]
        return queryset[self.offset:] if self.offset else queryset


@dataclass(frozen=True)
class PayoutOffer:
    id: int
    title: str
    commission_percent: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Info:
    balance: Decimal
    total_paid: Decimal
    link: str
    min_payout: Decimal
    methods: list[PayoutOffer]


class Source(Protocol):
    def info(self) -> Info: ...

    def exchanges(self, window: Window) -> Iterator[ExchangeRow]: ...

    def links(self, window: Window, ip: str = "") -> Iterator[ClickRow]: ...

    def payouts(self, window: Window) -> Iterator[PayoutRow]: ...

    def add_payout(self, method_id: str, account: str) -> int: ...


def _batches(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
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
        return Info(
            balance=partner_balance(partner),
            total_paid=partner_total_paid(partner),
            link=partner.referral_link,
            min_payout=partner_min_payout(partner),
            methods=[PayoutOffer(m.id, m.title, m.commission_percent, m.amount)
                     for m in payout_methods_for(partner)],
        )

    def links(self, window: Window, ip: str = "") -> Iterator[ClickRow]:
        clicks = window.page(partner_links(partner=self.partner, ip=ip or None)
                             .annotate(unix=UnixSeconds("created_at")))
        # The annotation last: raw rows come in the order the SQL selects, fields first.
        return raw_rows(clicks.values_list("id", "unix", "browser", "ip", "referrer",
                                           "user_hash", "query_string"))

    def exchanges(self, window: Window) -> Iterator[ExchangeRow]:
        exchanges = window.page(self.partner.exchanges.order_by("created_at", "id")
                                .annotate(unix=UnixSeconds("created_at")))
        rows = raw_rows(exchanges.values_list(
            "id", "rate_give", "rate_get", "amount_give", "amount_get", "status",
            "reward_accrued", "partner_reward", "user_hash", "currency_give_id",
            "currency_get_id", "unix"))
        return self._with_history(rows)

    def _with_history(self, rows: Iterator[tuple]) -> Iterator[ExchangeRow]:
        # A small table, read once per request rather than joined into every row.
        codes = dict(Currency.objects.values_list("id", "code"))
        for batch in _batches(rows, CHUNK):
            history: dict[int, list[tuple[int, str]]] = defaultdict(list)
            # The chunk's time span rather than a list of 2000 ids: one range on the
            # (partner, created_at) index, and no 2000 parameters to build and bind. Histories
            # of neighbours that share a boundary second are read too and ignored.
            first, last = batch[0][-1], batch[-1][-1]
            changes = (ExchangeStatusChange.objects
                       .filter(exchange__partner=self.partner,
                               exchange__created_at__gte=from_unix(first),
                               exchange__created_at__lt=from_unix(last + 1))
                       .order_by("exchange_id", "created_at", "id")
                       .annotate(unix=UnixSeconds("created_at"))
                       .values_list("exchange_id", "status", "unix"))
            for exchange_id, status, unix in raw_rows(changes):
                history[exchange_id].append((unix, status))
            for (id_, rate_give, rate_get, amount_give, amount_get, status, accrued, reward,
                 user_hash, give_id, get_id, unix) in batch:
                yield (id_, unix, rate_give, rate_get, amount_give, amount_get, status,
                       bool(accrued), reward, user_hash, codes.get(give_id, ""),
                       codes.get(get_id, ""), history.get(id_, []))

    def payouts(self, window: Window) -> Iterator[PayoutRow]:
        # partner_payouts filters the time itself; the window only pages.
        payouts = partner_payouts(self.partner, window.start, window.end)
        paged = Window(offset=window.offset, limit=window.limit).page(
            payouts.annotate(unix=UnixSeconds("created_at")))
        return paged.values_list(
            "id", "unix", "method_id", "account", "amount", "currency_code",
            "original_amount", "original_currency_code", "status").iterator(chunk_size=CHUNK)

    def add_payout(self, method_id: str, account: str) -> int:
        try:
            payout = payout_request(partner=self.partner, method_id=method_id, account=account)
        except PayoutError as error:
            raise ApiError(4, f"{error.field or 'method_id'}: {error.message}") from None
        return payout.pk
