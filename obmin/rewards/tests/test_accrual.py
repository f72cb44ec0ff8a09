"""Rewards follow the exchange's status through `exchange_set_status`: one net credit or none."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obmin.exchange.models import Exchange
from obmin.exchange.services import ALLOWED_TRANSITIONS, exchange_set_status
from obmin.rewards.models import LedgerEntry, RewardOverride
from obmin.rewards.selectors import partner_balance
from obmin.rewards.services import ledger_check, reward_backfill, reward_sync
from obmin.testing.factories import PartnerFactory

pytestmark = pytest.mark.django_db
D = Decimal


def walk(exchange: Exchange, *statuses: str) -> Exchange:
    for status in statuses:
        exchange_set_status(exchange_id=exchange.pk, status=status)
    exchange.refresh_from_db()
    return exchange


def entries(exchange: Exchange) -> list[tuple[str, Decimal, int]]:
    return list(LedgerEntry.objects.filter(exchange=exchange)
                .values_list("kind", "amount", "sequence"))


def test_success_credits_the_reward_once(referred, alice):
    exchange = walk(referred("1000"), "paid", "success")  # 20 USD profit at 20% -> 4 USD
    assert (exchange.reward_accrued, exchange.partner_reward) == (True, D("4.00"))
    assert partner_balance(alice) == D("4.00")
    assert entries(exchange) == [("credit", D("4.00"), 1)]


def test_statuses_before_success_credit_nothing(referred, alice):
    exchange = walk(referred("1000"), "paid", "error", "cancelled")
    assert (exchange.reward_accrued, exchange.partner_reward) == (False, D(0))
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize("leaving", ["error", "cancelled"])
def test_leaving_success_posts_a_reversal(referred, alice, leaving):
    exchange = walk(referred("1000"), "success", leaving)
    assert (exchange.reward_accrued, exchange.partner_reward) == (False, D(0))
    assert entries(exchange) == [("credit", D("4.00"), 1), ("reversal", D("-4.00"), 2)]
    assert partner_balance(alice) == D(0)


def test_flips_end_with_the_right_net(referred, alice):
    exchange = walk(referred("1000"), "success", "error", "success", "cancelled")
    assert [kind for kind, _amount, _seq in entries(exchange)] == [
        "credit", "reversal", "credit", "reversal"]
    assert partner_balance(alice) == D(0)
    exchange = walk(exchange, "success")
    assert partner_balance(alice) == D("4.00")
    assert exchange.reward_accrued is True
    assert ledger_check() == []


def test_reversal_takes_back_what_was_credited_even_if_rules_changed(referred, alice):
    exchange = walk(referred("1000"), "success")
    RewardOverride.objects.create(partner=alice, kind="fixed", value=D(50))
    walk(exchange, "error")
    assert entries(exchange)[-1] == ("reversal", D("-4.00"), 2)
    assert partner_balance(alice) == D(0)


def test_retried_sync_posts_nothing_more(referred, alice):
    exchange = walk(referred("1000"), "success")
    assert reward_sync(exchange=exchange) is None
    assert reward_sync(exchange=Exchange.objects.get(pk=exchange.pk)) is None
    assert partner_balance(alice) == D("4.00")


def test_database_refuses_a_second_credit_for_the_same_step(referred, alice):
    exchange = walk(referred("1000"), "success")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(partner=alice, exchange=exchange, sequence=1, kind="credit",
                                   amount=D("4.00"))


def test_database_refuses_a_credit_on_an_even_step(referred, alice):
    # A credit can only follow a reversal: two credits in a row would be steps 1 and 2.
    exchange = walk(referred("1000"), "success")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(partner=alice, exchange=exchange, sequence=2, kind="credit",
                                   amount=D("4.00"))


@pytest.mark.parametrize(("kind", "amount"), [("credit", "-1"), ("reversal", "1"),
                                              ("payout_hold", "1"), ("credit", "0")])
def test_database_refuses_entries_with_the_wrong_sign_or_source(referred, alice, kind, amount):
    exchange = referred("1000")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(partner=alice, exchange=exchange, sequence=1, kind=kind,
                                   amount=D(amount))


def test_backfill_accrues_past_exchanges_exactly_once(referred, alice):
    exchange = referred("1000")
    # As if the exchange had succeeded before the program existed.
    Exchange.objects.filter(pk=exchange.pk).update(status="success")
    assert reward_backfill() == 1
    assert reward_backfill() == 0
    exchange.refresh_from_db()
    assert (exchange.reward_accrued, exchange.partner_reward) == (True, D("4.00"))
    assert partner_balance(alice) == D("4.00")
    assert ledger_check() == []


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=12))
def test_any_walk_ends_with_one_net_credit_or_none(referred, moves):
    # A partner of its own per example: examples share the database, and another example's
    # successes would lift this partner's turnover into the next level.
    exchange = referred("1000", partner=PartnerFactory())
    for move in moves:
        current = Exchange.objects.get(pk=exchange.pk).status
        choices = sorted(ALLOWED_TRANSITIONS[current])
        exchange_set_status(exchange_id=exchange.pk, status=choices[move % len(choices)])
    exchange.refresh_from_db()
    net = sum(LedgerEntry.objects.filter(exchange=exchange).values_list("amount", flat=True),
              D(0))
    assert net == (D("4.00") if exchange.status == "success" else D(0))
    assert exchange.reward_accrued == (exchange.status == "success")
    assert ledger_check() == []


def test_blocking_a_partner_does_not_stop_a_reversal(referred, alice):
    exchange = walk(referred("1000"), "success")
    alice.is_blocked = True
    alice.save()
    walk(exchange, "cancelled")
    assert partner_balance(alice) == D(0)
    assert ledger_check() == []
