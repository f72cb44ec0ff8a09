"""Fixtures of the export's tests: a monitor, a varied set of directions, a clean process state."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.monitoring import polls, snapshot
from obmin.testing.factories import CurrencyFactory, DirectionFactory, PartnerFactory, UserFactory


@pytest.fixture(autouse=True)
def _clean_process_state():
    """The snapshot memo and the poll buffer are per process; tests must not inherit them."""
    snapshot._memo = None
    polls.reset()
    yield
    snapshot._memo = None
    polls.reset()


@pytest.fixture
def midday(midday):
    """The shared clock pin, then the poll buffer started afresh at the pinned time."""
    polls.reset()


@pytest.fixture
def monitor(db):
    """A monitoring site: a partner that polls with its export code."""
    return PartnerFactory(user=UserFactory(email="feeds@bestmon.example"), ref_code="bestmon1")


@pytest.fixture
def uah(db):
    return CurrencyFactory(code="CASHUAH", title="Cash UAH", reserve=Decimal("250000"))


@pytest.fixture
def directions(pm_btc, pm_usdt, usd, btc, usdt, uah):
    """Every kind of direction the export must list, plus the kinds it must leave out."""
    btc_usd = DirectionFactory(currency_give=btc, currency_get=usd, rate_give=Decimal(1),
                               rate_get=Decimal("95000.5"), min_amount=Decimal("0.001"),
                               max_amount=Decimal(0), fee_give_percent=Decimal("1"),
                               fee_get=Decimal("2.5"), flags="manual,verifying")
    cash = DirectionFactory(currency_give=usdt, currency_get=uah, city="kiev",
                            rate_give=Decimal(1), rate_get=Decimal("41.2"),
                            min_amount=Decimal(100), max_amount=Decimal(20000),
                            flags="delivery")
    return {"pm_btc": pm_btc, "pm_usdt": pm_usdt, "btc_usd": btc_usd, "cash": cash}
