"""Concurrent accruals and payout requests, with real threads and real row locks.

On PostgreSQL the threads share the test database. The test database on SQLite is in memory
and threads cannot write to it in parallel, so there the same races run in a child process on
a file database with the production settings (WAL, busy timeout, IMMEDIATE transactions).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, connections, transaction

from obmin.exchange.models import Exchange
from obmin.exchange.services import ALLOWED_TRANSITIONS, ExchangeError, exchange_set_status
from obmin.partners.models import Partner
from obmin.rewards.models import LedgerEntry, Payout, PayoutMethod
from obmin.rewards.selectors import partner_balance
from obmin.rewards.services import PayoutError, ledger_check, payout_request, reward_sync
from obmin.testing.factories import usable_wallet

D = Decimal
THREADS = 6
MakeExchange = Callable[..., Exchange]


def race(work: Callable[[int], str], threads: int = THREADS) -> Counter[str]:
    """Runs work(n) in `threads` threads released together; counts what each returned."""
    barrier = threading.Barrier(threads)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait()
            outcomes.append(work(n))
        except BaseException as error:  # reported below
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


# Each race returns what it saw; the tests compare that with `EXPECTED`.

def concurrent_success(make: MakeExchange, partner: Partner) -> dict:
    exchange = make("1000")
    exchange_set_status(exchange_id=exchange.pk, status="paid")

    def succeed(_n: int) -> str:
        try:
            exchange_set_status(exchange_id=exchange.pk, status="success")
            return "changed"
        except ExchangeError:
            return "refused"

    outcomes = race(succeed)
    return {"outcomes": dict(outcomes),
            "entries": [[k, str(a)] for k, a in
                        LedgerEntry.objects.filter(exchange=exchange).values_list("kind",
                                                                                  "amount")]}


def sync_without_the_exchange_lock(make: MakeExchange, partner: Partner) -> dict:
    """A caller that forgets the exchange's row lock still cannot credit twice: the database
    refuses a second (exchange, step 1)."""
    exchange = make("1000")
    Exchange.objects.filter(pk=exchange.pk).update(status="success")

    def sync(_n: int) -> str:
        try:
            with transaction.atomic():
                entry = reward_sync(exchange=Exchange.objects.get(pk=exchange.pk))
            return "credited" if entry else "nothing to do"
        except IntegrityError:
            return "refused by the database"

    outcomes = race(sync)
    return {"credited": outcomes["credited"],
            "entries": LedgerEntry.objects.filter(exchange=exchange).count()}


def status_storm(make: MakeExchange, partner: Partner) -> dict:
    exchange = make("1000")

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
    net = sum(LedgerEntry.objects.filter(exchange=exchange).values_list("amount", flat=True),
              D(0))
    credited = exchange.status == "success"
    return {"net_right": net == (D("4.00") if credited else D(0)),
            "flag_right": exchange.reward_accrued == credited}


def many_rewards_at_once(make: MakeExchange, partner: Partner) -> dict:
    """The first reward creates the balance row, the rest queue on its lock; none is lost."""
    before = partner_balance(partner)
    exchanges = [make("1000") for _n in range(THREADS)]

    def succeed(n: int) -> str:
        exchange_set_status(exchange_id=exchanges[n].pk, status="success")
        return "ok"

    race(succeed)
    return {"gained": str(partner_balance(partner) - before)}


def concurrent_payout_requests(make: MakeExchange, partner: Partner) -> dict:
    method = PayoutMethod.objects.create(title="Race USDT", commission_percent=D(1),
                                         currency_code="USDT")
    usable_wallet(partner, method.pk, "TXabc")

    def request(_n: int) -> str:
        try:
            payout_request(partner=partner, method_id=method.pk, account="TXabc")
            return "held"
        except PayoutError as error:
            return error.field

    held = partner_balance(partner)
    outcomes = race(request)
    return {"outcomes": dict(outcomes),
            "held_once": list(Payout.objects.filter(method=method)
                              .values_list("original_amount", flat=True)) == [held],
            "balance": str(partner_balance(partner)), "ledger_check": ledger_check()}


RACES = [concurrent_success, sync_without_the_exchange_lock, status_storm,
         many_rewards_at_once, concurrent_payout_requests]
EXPECTED = {
    "concurrent_success": {"outcomes": {"changed": 1, "refused": THREADS - 1},
                           "entries": [["credit", "4.00"]]},
    "sync_without_the_exchange_lock": {"credited": 1, "entries": 1},
    "status_storm": {"net_right": True, "flag_right": True},
    "many_rewards_at_once": {"gained": str(D("4.00") * THREADS)},
    "concurrent_payout_requests": {"outcomes": {"held": 1, "balance": THREADS - 1},
                                   "held_once": True, "balance": "0.00", "ledger_check": []},
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads share the test database")
@pytest.mark.parametrize("scenario", RACES, ids=lambda f: f.__name__)
def test_race_on_postgresql(referred, alice, scenario):
    if scenario is concurrent_payout_requests:
        many_rewards_at_once(referred, alice)
    assert scenario(referred, alice) == EXPECTED[scenario.__name__]
    assert ledger_check() == []


CHILD = """
import json
from decimal import Decimal
from django.core.management import call_command
call_command("migrate", verbosity=0)
from obmin.exchange.services import exchange_create
from obmin.testing.factories import CurrencyFactory, DirectionFactory, PartnerFactory, UserFactory
from obmin.rewards.models import RewardLevel
from obmin.rewards.services import ledger_check
from obmin.rewards.tests import test_concurrency as races
alice = PartnerFactory(user=UserFactory(email="alice@example.com"), ref_code="alice001")
RewardLevel.objects.create(min_turnover=Decimal(0), percent=Decimal(20))
direction = DirectionFactory(currency_give=CurrencyFactory(code="PMUSD"),
                             currency_get=CurrencyFactory(code="BTC", usd_price=Decimal(100000)),
                             rate_give=Decimal(100000), profit_percent=Decimal(2))
def make(amount):
    return exchange_create(direction=direction, amount_give=Decimal(amount),
                           email="customer@example.org", account_get="bc1q",
                           partner_id=alice.pk)
seen = {scenario.__name__: scenario(make, alice) for scenario in races.RACES}
seen["ledger_check"] = ledger_check()
print(json.dumps(seen))
"""


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite production setup")
def test_races_on_file_sqlite(tmp_path):
    obmin = str(Path(sys.executable).with_name("obmin"))
    env = {**os.environ, "OBMIN_DATA_DIR": str(tmp_path),
           "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    child = subprocess.run([obmin, "shell", "-c", CHILD], env=env, capture_output=True,
                           text=True, timeout=180, check=False)
    assert child.returncode == 0, child.stderr[-3000:]
    assert json.loads(child.stdout.strip().splitlines()[-1]) == {**EXPECTED, "ledger_check": []}
