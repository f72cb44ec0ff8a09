"""The reward rules a partner is told on the payouts page, in plain words."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.cabinet.reward_rules import describe_reward_rules
from obmin.rewards.models import RewardOverride

pytestmark = pytest.mark.django_db
D = Decimal


def test_rules_are_described_in_plain_words(alice, pm_btc, program):
    lines = describe_reward_rules(alice)
    text = "\n".join(lines)
    assert lines[0].startswith("You earn a share of the exchanger's profit")
    assert "From the start: 20%." in lines
    assert "Once your referred turnover reaches 10000 USD: 30%." in lines
    assert "Your referred turnover so far: 0 USD" in text
    assert "under 0.01 USD are not credited" in text
    assert "Your own exchanges earn nothing." in text
    assert lines[-1] == "You may ask for a payout of your whole balance once it reaches 10 USD."


def test_described_rules_follow_the_precedence(alice, bob, pm_btc, pm_usdt, program):
    RewardOverride.objects.create(direction=pm_btc, kind="none")
    RewardOverride.objects.create(direction=pm_usdt, kind="percent", value=D(25))
    RewardOverride.objects.create(partner=alice, direction=pm_btc, kind="fixed", value=D(2))
    lines = describe_reward_rules(alice)
    assert "For exchanges PMUSD → BTC: a fixed 2 USD per exchange." in lines
    assert "For exchanges PMUSD → BTC: no reward." not in lines  # alice's own rule wins
    assert "For exchanges PMUSD → USDTTRC20: 25%, whatever your level." in lines
    assert "For all other exchanges, by your referred turnover:" in lines
    assert "For exchanges PMUSD → BTC: no reward." in describe_reward_rules(bob)

    RewardOverride.objects.create(partner=alice, kind="percent", value=D(40))
    lines = describe_reward_rules(alice)
    assert "For all your other exchanges: 40%, whatever your level." in lines
    assert not any("USDTTRC20" in line or "From the start" in line for line in lines)
