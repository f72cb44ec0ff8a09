"""Reward fixtures: a payout method, and exchanges alice referred (the program is shared:
`obmin/conftest.py`)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.exchange.services import exchange_create
from obmin.rewards.models import PayoutMethod


@pytest.fixture
def usdt_method(db):
    return PayoutMethod.objects.create(title="USDT TRC20", commission_percent=Decimal(1),
                                       currency_code="USDT")


@pytest.fixture
def referred(pm_btc, alice, program):
    """Makes an exchange of `amount` PMUSD → BTC that alice referred (2% profit)."""

    def make(amount: str = "1000", email: str = "customer@example.org", partner=alice):
        return exchange_create(direction=pm_btc, amount_give=Decimal(amount), email=email,
                               account_get="bc1q", partner_id=partner.pk if partner else None)

    return make
