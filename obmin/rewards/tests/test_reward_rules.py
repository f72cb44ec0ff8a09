"""What an exchange earns: the base, the levels, the overrides and their precedence, the floor."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obmin.exchange.services import exchange_set_status
from obmin.rewards.models import RewardLevel, RewardOverride
from obmin.rewards.selectors import reward_quote

pytestmark = pytest.mark.django_db
D = Decimal


def succeed(exchange):
    exchange_set_status(exchange_id=exchange.pk, status="success")
    exchange.refresh_from_db()
    return exchange


def test_profit_base_takes_the_level_percent_of_the_profit(referred):
    # 1000 PMUSD at 1 USD, 2% profit = 20 USD; level 20% -> 4 USD.
    assert succeed(referred("1000")).partner_reward == D("4.00")


def test_amount_base_takes_the_level_percent_of_the_amount(referred, program):
    program.reward_base = "amount"
    program.save()
    # 1000 USD, 20% -> 200 USD.
    assert succeed(referred("1000")).partner_reward == D("200.00")


def test_the_base_is_converted_at_the_exchanges_own_price(referred, usd):
    exchange = referred("1000")
    usd.usd_price = D("2")  # a later price change does not touch the snapshot
    usd.save()
    assert succeed(exchange).partner_reward == D("4.00")


@pytest.mark.parametrize(("before", "percent"), [
    ("0", "20"),
    ("9999.99", "20"),
    ("10000", "30"),  # the level applies once the turnover reaches its threshold
    ("12000", "30"),
])
def test_level_is_chosen_by_turnover_before_the_exchange(pm_usdt, referred, alice, before,
                                                         percent):
    from obmin.exchange.services import exchange_create

    remaining = D(before)
    while remaining > 0:
        step = min(remaining, D(10000))
        exchange = exchange_create(direction=pm_usdt, amount_give=step, email="old@example.org",
                                   account_get="T", partner_id=alice.pk)
        exchange_set_status(exchange_id=exchange.pk, status="success")
        remaining -= step
    # 1000 USD at 2% profit = 20 USD of profit.
    assert succeed(referred("1000")).partner_reward == D(20) * D(percent) / 100


def test_no_levels_means_no_reward(referred):
    RewardLevel.objects.all().delete()
    exchange = succeed(referred("1000"))
    assert (exchange.partner_reward, exchange.reward_accrued) == (D(0), False)


@pytest.mark.parametrize(("kind", "value", "reward"), [
    ("percent", "50", "10.00"),  # 50% of 20 USD profit
    ("fixed", "1.5", "1.50"),
    ("none", "0", "0"),
])
def test_partner_override_replaces_the_level(referred, alice, kind, value, reward):
    RewardOverride.objects.create(partner=alice, kind=kind, value=D(value))
    assert succeed(referred("1000")).partner_reward == D(reward)


@pytest.mark.parametrize(("kind", "value", "reward"), [
    ("percent", "10", "2.00"),
    ("fixed", "3", "3.00"),
    ("none", "0", "0"),
])
def test_direction_override_replaces_the_level(referred, pm_btc, kind, value, reward):
    RewardOverride.objects.create(direction=pm_btc, kind=kind, value=D(value))
    assert succeed(referred("1000")).partner_reward == D(reward)


def test_direction_override_leaves_other_directions_alone(referred, pm_usdt):
    RewardOverride.objects.create(direction=pm_usdt, kind="none")
    assert succeed(referred("1000")).partner_reward == D("4.00")


def test_precedence_partner_and_direction_then_partner_then_direction(referred, alice, bob,
                                                                      pm_btc):
    RewardOverride.objects.create(direction=pm_btc, kind="fixed", value=D(1))
    assert succeed(referred("1000")).partner_reward == D(1)
    RewardOverride.objects.create(partner=alice, kind="fixed", value=D(2))
    assert succeed(referred("1000")).partner_reward == D(2)
    RewardOverride.objects.create(partner=alice, direction=pm_btc, kind="fixed", value=D(3))
    assert succeed(referred("1000")).partner_reward == D(3)
    # bob has no rule of his own: the direction's rule applies to him.
    assert succeed(referred("1000", partner=bob)).partner_reward == D(1)


def test_rewards_under_a_cent_are_not_credited(referred, alice):
    RewardOverride.objects.create(partner=alice, kind="fixed", value=D("0.009"))
    exchange = succeed(referred("1000"))
    assert (exchange.partner_reward, exchange.reward_accrued) == (D(0), False)
    assert not alice.ledger_entries.exists()


def test_rewards_are_rounded_down_to_the_cent(referred, alice):
    RewardOverride.objects.create(partner=alice, kind="fixed", value=D("0.019"))
    assert succeed(referred("1000")).partner_reward == D("0.01")


def test_self_referral_earns_nothing(referred, alice):
    exchange = succeed(referred("1000", email="Alice@Example.com"))
    assert (exchange.partner_reward, exchange.reward_accrued) == (D(0), False)
    assert not alice.ledger_entries.exists()


def test_blocked_partner_earns_nothing(referred, alice):
    alice.is_blocked = True
    alice.save()
    assert succeed(referred("1000")).reward_accrued is False
    assert not alice.ledger_entries.exists()


def test_unreferred_exchange_earns_nothing(referred):
    exchange = succeed(referred("1000", partner=None))
    assert exchange.reward_accrued is False


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=st.decimals(min_value=10, max_value=5000, places=2),
       percent=st.decimals(min_value=0, max_value=100, places=4))
def test_quote_is_percent_of_profit_floored_to_the_cent(referred, alice, amount, percent):
    RewardOverride.objects.update_or_create(partner=alice, direction=None,
                                            defaults={"kind": "percent", "value": percent})
    exchange = referred(str(amount))
    raw = amount * D("0.02") * percent / 100
    quote = reward_quote(exchange)
    assert quote.amount == (raw.quantize(D("0.01"), rounding="ROUND_DOWN")
                            if raw >= D("0.01") else 0)
