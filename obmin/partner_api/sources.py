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

from django.db.models import QuerySet

from obmin.exchange.models import Currency, ExchangeStatusChange
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

# (id, created_at, browser, ip, referrer, user_hash, query_string)
ClickRow = tuple[int, datetime, str, str, str, str, str]
# (id, created_at, rate_give, rate_get, amount_give, amount_get, status, reward_accrued,
#  partner_reward, user_hash, currency_give code, currency_get code,
#  [(created_at, status), ...] oldest first)
ExchangeRow = tuple[int, datetime, Decimal, Decimal, Decimal, Decimal, str, bool, Decimal, str,
                    str, str, list[tuple[datetime, str]]]
# (id, created_at, method_id, account, amount, currency_code, original_amount,
#  original_currency_code, status 0..3)
PayoutRow = tuple[int, datetime, int, str, Decimal, str, Decimal, str, int]


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
        clicks = window.page(partner_links(partner=self.partner, ip=ip or None))
        return clicks.values_list("id", "created_at", "browser", "ip", "referrer", "user_hash",
                                  "query_string").iterator(chunk_size=CHUNK)

    def exchanges(self, window: Window) -> Iterator[ExchangeRow]:
        exchanges = window.page(self.partner.exchanges.order_by("created_at", "id"))
        rows = exchanges.values_list(
            "id", "created_at", "rate_give", "rate_get", "amount_give", "amount_get", "status",
            "reward_accrued", "partner_reward", "user_hash", "currency_give_id",
            "currency_get_id").iterator(chunk_size=CHUNK)
        return self._with_history(rows)

    def _with_history(self, rows: Iterator[tuple]) -> Iterator[ExchangeRow]:
        # A small table, read once per request rather than joined into every row.
        codes = dict(Currency.objects.values_list("id", "code"))
        for batch in _batches(rows, CHUNK):
            history: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
            changes = (ExchangeStatusChange.objects
                       .filter(exchange__partner=self.partner,
                               exchange_id__in=[row[0] for row in batch])
                       .order_by("exchange_id", "created_at", "id")
                       .values_list("exchange_id", "created_at", "status"))
            for exchange_id, created_at, status in changes:
                history[exchange_id].append((created_at, status))
            for row in batch:
                yield (*row[:10], codes.get(row[10], ""), codes.get(row[11], ""),
                       history.get(row[0], []))

    def payouts(self, window: Window) -> Iterator[PayoutRow]:
        # partner_payouts filters the time itself; the window only pages.
        payouts = partner_payouts(self.partner, window.start, window.end)
        paged = Window(offset=window.offset, limit=window.limit).page(payouts)
        return paged.values_list(
            "id", "created_at", "method_id", "account", "amount", "currency_code",
            "original_amount", "original_currency_code", "status").iterator(chunk_size=CHUNK)

    def add_payout(self, method_id: str, account: str) -> int:
        try:
            payout = payout_request(partner=self.partner, method_id=method_id, account=account)
        except PayoutError as error:
            raise ApiError(4, f"{error.param or 'method_id'}: {error.message}") from None
        return payout.pk
