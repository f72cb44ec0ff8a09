"""The demo shows partners with credited rewards, a pending payout and a paid one; twice is once."""

from __future__ import annotations

import pytest
from django.apps import apps

from obmin.ops.demo import load_currencies_and_directions, load_exchanges, load_users
from obmin.partners.models import Partner
from obmin.rewards.demo import load_rewards
from obmin.rewards.selectors import partner_balance, partner_total_paid, payout_methods_for
from obmin.rewards.services import ledger_check

pytestmark = pytest.mark.django_db


def rows() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_app_config("rewards").get_models()}


def test_demo_rewards_and_payouts(mailoutbox):
    load_currencies_and_directions()
    load_users()
    load_exchanges()
    load_rewards()
    alice = Partner.objects.get(user__email="alice@example.com")
    bob = Partner.objects.get(user__email="bob@example.com")
    assert {"USDT TRC20", "Perfect Money USD", "Bank card UAH"} <= {
        offer.title for offer in payout_methods_for(alice)}
    assert sorted(alice.payouts.values_list("status", flat=True)) == [0, 1]
    assert partner_total_paid(alice) > 0
    assert partner_balance(alice) > 0
    assert alice.exchanges.filter(status="success", reward_accrued=True).count() >= 5
    assert bob.ledger_entries.filter(kind="credit").exists()
    assert ledger_check() == []

    before = rows()
    load_rewards()
    assert rows() == before
