"""Holds and the second tier under real threads and row locks (PostgreSQL): status flips, hold
releases and a second release racing each other leave the ledger exact for both partners."""

from __future__ import annotations

import contextlib
import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from obmin.exchange.models import Exchange
from obmin.exchange.services import ALLOWED_TRANSITIONS, ExchangeError, exchange_set_status
from obmin.rewards.models import LedgerEntry, RewardProgram
from obmin.rewards.selectors import partner_balances
from obmin.rewards.services import _locked_account, _post, ledger_check, reward_release_due
from obmin.rewards.tests.test_concurrency import THREADS, race

D = Decimal
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="threads share the test database"),
]
LATER = timedelta(days=30)


@pytest.fixture
def brought(alice, bob, program):
    """bob signed up through alice's link; 10% second tier, a 3-day hold."""
    bob.referred_by = alice
    bob.save()
    program = RewardProgram.load()
    program.second_tier_enabled = True
    program.second_tier_percent = D(10)
    program.hold_days = 3
    program.save()
    return bob


def test_status_flips_and_releases_racing_keep_both_partners_exact(referred, alice, brought):
    exchanges = [referred("1000", partner=brought) for _n in range(3)]

    def work(n: int) -> str:
        rng = random.Random(n)
        for _step in range(12):
            if n % 3 == 2:  # a worker releasing whatever is due, "a month later"
                reward_release_due(now=timezone.now() + LATER)
                continue
            exchange = rng.choice(exchanges)
            current = Exchange.objects.get(pk=exchange.pk).status
            # Refused when another thread moved it first.
            with contextlib.suppress(ExchangeError):
                exchange_set_status(exchange_id=exchange.pk,
                                    status=rng.choice(sorted(ALLOWED_TRANSITIONS[current])))
        return "done"

    race(work)
    reward_release_due(now=timezone.now() + LATER)
    assert ledger_check() == []
    succeeded = Exchange.objects.filter(pk__in=[e.pk for e in exchanges], status="success")
    n = succeeded.count()
    bob_money, alice_money = partner_balances(brought.pk), partner_balances(alice.pk)
    assert (bob_money.payable, bob_money.pending) == (D("4.00") * n, D(0))
    assert (alice_money.payable, alice_money.pending) == (D("0.40") * n, D(0))
    assert alice_money.second_tier == D("0.40") * n
    for exchange in exchanges:
        for tier, amount in ((1, D("4.00")), (2, D("0.40"))):
            steps = list(LedgerEntry.objects.filter(exchange=exchange, tier=tier)
                         .exclude(kind="release").values_list("kind", flat=True))
            credited = exchange.pk in {e.pk for e in succeeded}
            assert (steps[-1:] == ["credit"]) == credited, (exchange.pk, tier, steps)
            net = sum(LedgerEntry.objects.filter(exchange=exchange, tier=tier)
                      .values_list("amount", flat=True), D(0))
            assert net == (amount if credited else D(0))


def test_concurrent_releases_release_each_credit_once(referred, alice, brought):
    exchanges = [referred("1000", partner=brought) for _n in range(4)]
    for exchange in exchanges:
        exchange_set_status(exchange_id=exchange.pk, status="success")
    outcomes = race(lambda _n: str(reward_release_due(now=timezone.now() + LATER)))
    assert sum(int(count) * times for count, times in outcomes.items()) == 8  # 4 credits × 2
    assert LedgerEntry.objects.filter(kind="release").count() == 8
    assert partner_balances(brought.pk).payable == D("16.00")
    assert partner_balances(alice.pk).payable == D("1.60")
    assert ledger_check() == []


def test_the_database_refuses_a_second_release_even_without_the_exchange_lock(referred, alice,
                                                                            brought):
    exchange = referred("1000", partner=brought)
    exchange_set_status(exchange_id=exchange.pk, status="success")
    credit = LedgerEntry.objects.get(exchange=exchange, tier=1)

    def release(_n: int) -> str:
        try:
            with transaction.atomic():
                _post(_locked_account(brought.pk), amount=D(0), pending_change=-credit.amount,
                      kind="release", exchange=exchange, sequence=credit.sequence)
            return "released"
        except IntegrityError:
            return "refused by the database"

    outcomes = race(release)
    assert outcomes == {"released": 1, "refused by the database": THREADS - 1}
    assert LedgerEntry.objects.filter(kind="release", tier=1).count() == 1
