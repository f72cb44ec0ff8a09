"""Concurrent accruals and payout requests, with real threads and real row locks.

PostgreSQL only: SQLite runs one writer at a time, so nothing there can race (and its
in-memory test database cannot be shared by threads that write).
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, connections, transaction

from obmin.exchange.models import Exchange
from obmin.exchange.services import ALLOWED_TRANSITIONS, ExchangeError, exchange_set_status
from obmin.rewards.models import LedgerEntry, Payout
from obmin.rewards.selectors import partner_balance
from obmin.rewards.services import PayoutError, ledger_check, payout_request, reward_sync

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="row locks and concurrent writers need PostgreSQL"),
]
D = Decimal
THREADS = 6


def race(work: Callable[[int], str], threads: int = THREADS) -> Counter[str]:
    """Runs work(n) in `threads` threads released together; counts what each returned."""
    barrier = threading.Barrier(threads)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait()
            outcomes.append(work(n))
        except BaseException as error:  # reported below, with the thread's traceback
            errors.append(error)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    assert not errors, errors
    return Counter(outcomes)


def test_concurrent_success_credits_once(referred, alice):
    exchange = referred("1000")
    exchange_set_status(exchange_id=exchange.pk, status="paid")

    def succeed(_n: int) -> str:
        try:
            exchange_set_status(exchange_id=exchange.pk, status="success")
            return "changed"
        except ExchangeError:
            return "refused"

    assert race(succeed) == {"changed": 1, "refused": THREADS - 1}
    assert list(LedgerEntry.objects.values_list("kind", "amount")) == [("credit", D("4.00"))]
    assert partner_balance(alice) == D("4.00")
    assert ledger_check() == []


def test_unique_accrual_step_stops_duplicates_even_without_the_exchange_lock(referred, alice):
    """A caller that forgets the exchange's row lock still cannot credit twice: the database
    refuses the second (exchange, step 1)."""
    exchange = referred("1000")
    Exchange.objects.filter(pk=exchange.pk).update(status="success")

    def sync(_n: int) -> str:
        try:
            with transaction.atomic():
                entry = reward_sync(exchange=Exchange.objects.get(pk=exchange.pk))
            return "credited" if entry else "nothing to do"
        except IntegrityError:
            return "refused by the database"

    outcomes = race(sync)
    assert outcomes["credited"] == 1
    assert LedgerEntry.objects.count() == 1
    assert partner_balance(alice) == D("4.00")
    assert ledger_check() == []


def test_status_storm_ends_with_one_net_credit_or_none(referred, alice):
    exchange = referred("1000")

    def flip(n: int) -> str:
        rng = random.Random(n)
        for _step in range(15):
            current = Exchange.objects.get(pk=exchange.pk).status
            # Refused when another thread moved it first.
            with contextlib.suppress(ExchangeError):
                exchange_set_status(exchange_id=exchange.pk,
                                    status=rng.choice(sorted(ALLOWED_TRANSITIONS[current])))
        return "done"

    race(flip)
    exchange.refresh_from_db()
    credited = exchange.status == "success"
    assert partner_balance(alice) == (D("4.00") if credited else D(0))
    assert exchange.reward_accrued == credited
    assert ledger_check() == []


def test_concurrent_rewards_of_one_partner_all_land(referred, alice):
    """Many exchanges of one partner succeeding at once: the first creates the balance row,
    the rest queue on its lock, and none is lost."""
    exchanges = [referred("1000") for _n in range(THREADS)]

    def succeed(n: int) -> str:
        exchange_set_status(exchange_id=exchanges[n].pk, status="success")
        return "ok"

    assert race(succeed) == {"ok": THREADS}
    assert partner_balance(alice) == D("4.00") * THREADS
    assert ledger_check() == []


def test_concurrent_payout_requests_hold_the_balance_once(referred, alice, usdt_method):
    for _n in range(3):
        exchange_set_status(exchange_id=referred("1000").pk, status="success")  # 4 USD each

    def request(_n: int) -> str:
        try:
            payout_request(partner=alice, method_id=usdt_method.pk, account="TXabc")
            return "held"
        except PayoutError as error:
            return error.param

    assert race(request) == {"held": 1, "balance": THREADS - 1}
    [payout] = Payout.objects.all()
    assert payout.original_amount == D("12.00")
    assert partner_balance(alice) == D(0)
    assert ledger_check() == []
