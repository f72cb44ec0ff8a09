"""What api.php answers are made of: the row types, the window a list method asks for, and the
`Source` protocol that the live data (`live.py`) and the sandbox (`sandbox.py`) both follow.

Records use internal names; `wire_names.py` writes them with the original API's field names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, Protocol

from django.db.models import QuerySet

from obmin.rewards.selectors import PayoutMethodOffer

# Records carry times as unix seconds and amounts as Decimal, or as the database driver gives
# them (int or float from SQLite): envelope.number writes each of them exactly.
Amount = Decimal | int | float


# The rows are NamedTuples: a million of them are built with `_make` straight from the
# database's raw rows and still read by name. `created` is the creation time in unix seconds.
# The live source selects a click's and a payout's columns by these names, in this order
# (`values_list(*ClickRow._fields)`): keep them equal to the model's fields.


class ClickRow(NamedTuple):
    id: int
    created: int
    browser: str
    ip: str
    referrer: str
    user_hash: str
    query_string: str
    # The traffic source the partner tagged the link with, and the visitor's country.
    sub1: str = ""
    sub2: str = ""
    sub3: str = ""
    sub4: str = ""
    sub5: str = ""
    country: str = ""


class ExchangeRow(NamedTuple):
    id: int
    created: int
    rate_give: Amount
    rate_get: Amount
    amount_give: Amount
    amount_get: Amount
    status: str
    reward_accrued: bool
    partner_reward: Amount
    user_hash: str
    currency_give_code: str
    currency_get_code: str
    # (unix seconds, status) of every status change, oldest first.
    history: list[tuple[int, str]]
    # The source of the click that brought it, copied at creation.
    sub1: str = ""
    sub2: str = ""
    sub3: str = ""
    sub4: str = ""
    sub5: str = ""
    country: str = ""
    updated: int = 0  # unix seconds of the last change of status, accrual or reward
    # The customer's address as partners see it (masked when the operator masks clicks'),
    # "" when unknown. API v1 only: api.php's get_exchanges has no such field.
    user_ip: str = ""


class PayoutRow(NamedTuple):
    id: int
    created: int
    method_id: int
    account: str
    amount: Amount
    currency_code: str
    original_amount: Amount
    original_currency_code: str
    status: int  # a PayoutStatus: 0 pending, 1 paid, 2 refused, 3 cancelled


@dataclass(frozen=True)
class Window:
    """Which items a list method asks for: [start, end] inclusive (creation time), then
    offset and limit. `sub1` (get_links, get_exchanges) keeps only that traffic source;
    `updated_since` (get_exchanges) keeps only what changed at or after it, in the order of
    change. None: no such filter, the answer as before they existed."""

    start: datetime | None = None
    end: datetime | None = None
    offset: int = 0
    limit: int | None = None
    sub1: str | None = None
    updated_since: datetime | None = None
    # Newest first, as Premium lists items (what a request asks); the order of change when
    # `updated_since` is given. Off: oldest first (internal reads of one moment's rows).
    newest_first: bool = False

    def page(self, queryset: QuerySet) -> QuerySet:
        if self.sub1 is not None:
            queryset = queryset.filter(sub1=self.sub1)
        if self.start is not None:
            queryset = queryset.filter(created_at__gte=self.start)
        if self.end is not None:
            queryset = queryset.filter(created_at__lte=self.end)
        if self.limit is not None:
            return queryset[self.offset:self.offset + self.limit]
        return queryset[self.offset:] if self.offset else queryset


@dataclass(frozen=True)
class Info:
    balance: Decimal  # payable
    total_paid: Decimal
    link: str
    min_payout: Decimal
    methods: list[PayoutMethodOffer]
    pending: Decimal = Decimal(0)  # rewards in their holding period (`balance_pending`)


class Source(Protocol):
    """Where a key's answers come from: its partner's rows (live) or the sandbox (test keys)."""

    def info(self) -> Info: ...

    # `ip` (API v1): only the exchanges whose customer's address, masked as partners see it,
    # is the given one's (masked alike).
    def exchanges(self, window: Window, ip: str = "") -> Iterator[ExchangeRow]: ...

    def links(self, window: Window, ip: str = "") -> Iterator[ClickRow]: ...

    def payouts(self, window: Window) -> Iterator[PayoutRow]: ...

    def add_payout(self, method_id: str, account: str) -> int: ...
