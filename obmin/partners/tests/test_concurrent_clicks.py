"""Parallel clicks all land on the production SQLite setup: none lost, none an error.

The test database is an in-memory SQLite that threads cannot write to in parallel, so this runs
the real thing in a child process: a file database under a fresh OBMIN_DATA_DIR with the
settings `obmin serve` uses (WAL, busy timeout, IMMEDIATE transactions), and clicks from many
threads, each with its own connection. On PostgreSQL the same traffic goes through the test
database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection, connections
from django.test import Client

from obmin.partners.models import Click

THREADS, CLICKS_EACH = 8, 15
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/120.0.0.0 Safari/537.36")


def burst() -> dict[str, int]:
    """Clicks from THREADS visitors at once, alternating two partners; counts what was left."""

    def visitor(n: int) -> list[int]:
        client = Client()
        try:
            return [client.get(f"/ref/{'alice001' if n % 2 else 'bob00002'}/",
                               {"cur_from": "PMUSD", "cur_to": "BTC"},
                               HTTP_USER_AGENT=CHROME).status_code
                    for _ in range(CLICKS_EACH)]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(THREADS) as pool:
        answers = [code for codes in pool.map(visitor, range(THREADS)) for code in codes]
    return {"redirects": answers.count(302), "answers": len(answers),
            "clicks": Click.objects.count(),
            "unique": Click.objects.filter(is_unique=True).count(),
            "visitors": Click.objects.values("user_hash").distinct().count()}


CHILD = """
import json
from decimal import Decimal
from django.core.management import call_command
call_command("migrate", verbosity=0)
from obmin.testing.factories import CurrencyFactory, DirectionFactory, PartnerFactory, UserFactory
from obmin.partners.tests.test_concurrent_clicks import burst
for email, code in [("alice@example.com", "alice001"), ("bob@example.com", "bob00002")]:
    PartnerFactory(user=UserFactory(email=email), ref_code=code)
DirectionFactory(currency_give=CurrencyFactory(code="PMUSD"),
                 currency_get=CurrencyFactory(code="BTC"), rate_give=Decimal(100000))
print(json.dumps(burst()))
"""


def expected() -> dict[str, int]:
    total = THREADS * CLICKS_EACH
    # Each thread is one visitor: its first click of the day is its only unique one.
    return {"redirects": total, "answers": total, "clicks": total, "unique": THREADS,
            "visitors": THREADS}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite production setup")
def test_parallel_clicks_on_file_sqlite(tmp_path):
    obmin = str(Path(sys.executable).with_name("obmin"))
    env = {**os.environ, "OBMIN_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE":
           "obmin.settings"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    child = subprocess.run([obmin, "shell", "-c", CHILD], env=env, capture_output=True,
                           text=True, timeout=120, check=False)
    assert child.returncode == 0, child.stderr[-3000:]
    assert json.loads(child.stdout.strip().splitlines()[-1]) == expected()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads share the test database")
def test_parallel_clicks_on_postgresql(alice, bob, pm_btc):
    assert burst() == expected()
