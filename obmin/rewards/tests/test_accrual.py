"""Rewards follow the exchange's status through `exchange_set_status`: one net credit or none."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.exchange.services import exchange_set_status
from obmin.rewards.models import LedgerEntry
from obmin.rewards.selectors import partner_balance

pytestmark = pytest.mark.django_db


def test_success_credits_the_reward_once(referred, alice):
    exchange = referred("1000")  # profit 2% = 20 USD, level 20% -> 4 USD
    exchange_set_status(exchange_id=exchange.pk, status="success")
    exchange.refresh_from_db()
    assert exchange.reward_accrued is True
    assert exchange.partner_reward == Decimal("4.00")
    assert partner_balance(alice) == Decimal("4.00")
    assert list(LedgerEntry.objects.values_list("kind", "amount", "sequence")) == [
        ("credit", Decimal("4.00"), 1)]
