"""Personas and fixtures every room's tests share.

alice and bob are partners; bob must never see alice's data. carol is the operator.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import hypothesis
import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher

from obmin.exchange.accounts import AccountFormat
from obmin.lib.cache import redis_pauses_clear
from obmin.rewards.models import RewardLevel, RewardProgram
from obmin.testing.factories import CurrencyFactory, DirectionFactory, PartnerFactory, UserFactory

# CI (.ci/run sets HYPOTHESIS_PROFILE=ci: Hypothesis's own "ci" profile, derandomized) tries
# the same generated examples on every run, so a red CI points at a change, not at the draw;
# a developer's runs keep drawing new ones.
if profile := os.environ.get("HYPOTHESIS_PROFILE"):
    hypothesis.settings.load_profile(profile)


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 as in production, with test-sized memory and time costs."""

    time_cost = 1
    memory_cost = 256
    parallelism = 1


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["obmin.conftest.FastArgon2PasswordHasher"]


IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
                               "QUEUES": ["default"]}}


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    """Queued work (e-mails) runs when it is queued; the worker's tests use the database."""
    settings.TASKS = IMMEDIATE_TASKS


@pytest.fixture(autouse=True)
def _isolated_cache(settings, tmp_path):
    """Each test gets a fresh local-memory cache and data directory (the click spool lives
    there), so tests running in parallel never see each other's."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": str(tmp_path)}}
    settings.DATA_DIR = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    from django.core.cache import cache

    cache.clear()
    redis_pauses_clear()  # a Redis failure in one test leaves no pause for the next


@pytest.fixture
def midday(time_machine):
    """The next 12:10 UTC, the clock ticking from there: for a test that counts a day's or an
    hour's clicks or polls, which a midnight or an hour falling mid-test would split in two.
    Forward only: state an autouse fixture took at the real time is never in the future."""
    now = datetime.now(UTC)
    noon = now.replace(hour=12, minute=10, second=0, microsecond=0)
    time_machine.move_to(noon if noon > now else noon + timedelta(days=1))


@pytest.fixture
def usd(db):
    return CurrencyFactory(code="PMUSD", title="Perfect Money USD", decimals=2,
                           reserve=Decimal("50000"), usd_price=Decimal(1))


@pytest.fixture
def btc(db):
    return CurrencyFactory(code="BTC", title="Bitcoin", decimals=8, reserve=Decimal("2"),
                           usd_price=Decimal("100000"))


@pytest.fixture
def btc_checked(btc):
    """BTC whose accounts are checked as Bitcoin addresses."""
    btc.account_format = AccountFormat.BITCOIN
    btc.save()
    return btc


@pytest.fixture
def usdt(db):
    return CurrencyFactory(code="USDTTRC20", title="Tether TRC20", decimals=2,
                           reserve=Decimal("100000"), usd_price=Decimal(1))


@pytest.fixture
def pm_btc(usd, btc):
    """PMUSD → BTC at 100000:1 (one BTC for 100,000 USD), 10..5000 PMUSD, 2% profit."""
    return DirectionFactory(currency_give=usd, currency_get=btc, rate_give=Decimal(100000),
                            rate_get=Decimal(1), min_amount=Decimal(10),
                            max_amount=Decimal(5000), profit_percent=Decimal(2))


@pytest.fixture
def pm_usdt(usd, usdt):
    return DirectionFactory(currency_give=usd, currency_get=usdt, rate_give=Decimal(1),
                            rate_get=Decimal("0.98"), min_amount=Decimal(10),
                            max_amount=Decimal(10000), profit_percent=Decimal("1.5"))


@pytest.fixture
def alice(db):
    return PartnerFactory(user=UserFactory(email="alice@example.com"), ref_code="alice001")


@pytest.fixture
def bob(db):
    return PartnerFactory(user=UserFactory(email="bob@example.com"), ref_code="bob00002")


@pytest.fixture
def carol(db):
    """The operator: a superuser in the admin."""
    user = UserFactory(email="carol@example.com", is_staff=True, is_superuser=True)
    return user


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]


@pytest.fixture
def program(db):
    """Profit-based, 20% from the start, 30% from 10,000 USD, minimum payout 10 USD."""
    program = RewardProgram.load()
    program.reward_base = "profit"
    program.min_payout = Decimal(10)
    program.save()
    RewardLevel.objects.create(min_turnover=Decimal(0), percent=Decimal(20))
    RewardLevel.objects.create(min_turnover=Decimal(10000), percent=Decimal(30))
    return program


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (`playwright install` cannot download here)."""
    import os

    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (scripts/test does it)")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls a test makes
    # around it are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
