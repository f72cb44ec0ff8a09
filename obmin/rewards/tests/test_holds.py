"""Holds: a credited reward is pending for the program's holding period, then payable; the
worker releases it exactly once; a reversal within the hold takes it back before it was ever
payable; a payout takes only payable money."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from obmin.exchange.services import exchange_set_status
from obmin.rewards.models import LedgerEntry, PartnerAccount, RewardHold
from obmin.rewards.selectors import Balances, partner_balances
from obmin.rewards.services import (
    PayoutError,
    _locked_account,
    _post,
    ledger_check,
    reward_release,
    reward_release_due,
)
from obmin.testing.factories import payout_to

pytestmark = pytest.mark.django_db
D = Decimal
DAY = timedelta(days=1)


@pytest.fixture
def held(program):
    program.hold_days = 7
    program.save()
    return program


def succeed(referred, amount: str = "1000", **kwargs):
    exchange = referred(amount, **kwargs)
    exchange_set_status(exchange_id=exchange.pk, status="success")
    return exchange


def money(partner) -> tuple[Decimal, Decimal]:
    balances = partner_balances(partner.pk)
    return balances.payable, balances.pending


def test_without_a_hold_a_reward_is_payable_at_once(referred, alice, program):
    assert program.hold_days == 0  # the default
    succeed(referred)
    assert money(alice) == (D("4.00"), D(0))
    assert not RewardHold.objects.exists()
    assert ledger_check() == []


def test_a_held_reward_is_pending_until_the_period_ends_then_released_once(referred, alice,
                                                                           held):
    exchange = succeed(referred)
    credit = LedgerEntry.objects.get(exchange=exchange)
    assert (credit.amount, credit.pending_change) == (D("4.00"), D("4.00"))
    assert money(alice) == (D(0), D("4.00"))
    exchange.refresh_from_db()
    assert exchange.partner_reward == D("4.00")  # earned, only not payable yet
    assert ledger_check() == []

    assert reward_release_due(now=credit.created_at + 7 * DAY - timedelta(seconds=1)) == 0
    assert money(alice) == (D(0), D("4.00"))

    after = credit.created_at + 7 * DAY
    assert reward_release_due(now=after) == 1
    assert money(alice) == (D("4.00"), D(0))
    assert reward_release_due(now=after + DAY) == 0  # exactly once
    assert reward_release(credit_id=credit.pk, now=after + DAY) is False
    release = LedgerEntry.objects.get(kind="release")
    assert (release.exchange_id, release.sequence, release.amount, release.pending_change) == (
        exchange.pk, 1, D(0), D("-4.00"))
    assert not RewardHold.objects.exists()
    assert ledger_check() == []


def test_the_database_refuses_a_second_release_of_one_credit(referred, alice, held):
    """Even a caller that skips every check cannot release a credit twice."""
    exchange = succeed(referred)
    credit = LedgerEntry.objects.get(exchange=exchange)

    def release() -> None:
        with transaction.atomic():
            _post(_locked_account(alice.pk), amount=D(0), pending_change=-credit.amount,
                  kind="release", exchange=exchange, sequence=credit.sequence)

    release()
    with pytest.raises(IntegrityError):
        release()
    assert LedgerEntry.objects.filter(kind="release").count() == 1


def test_a_reversal_within_the_hold_is_never_payable(referred, alice, held):
    exchange = succeed(referred)
    assert money(alice) == (D(0), D("4.00"))
    exchange_set_status(exchange_id=exchange.pk, status="cancelled")
    assert money(alice) == (D(0), D(0))
    reversal = LedgerEntry.objects.get(kind="reversal")
    assert (reversal.amount, reversal.pending_change) == (D("-4.00"), D("-4.00"))
    assert not RewardHold.objects.exists()
    # The period ending later changes nothing: there is nothing left to release.
    assert reward_release_due(now=timezone.now() + 30 * DAY) == 0
    assert money(alice) == (D(0), D(0))
    assert not LedgerEntry.objects.filter(kind="release").exists()
    # At no point did the payable balance hold it.
    payable_steps = [e.amount - e.pending_change for e in LedgerEntry.objects.order_by("id")]
    assert payable_steps == [D(0), D(0)]
    assert ledger_check() == []


def test_a_reversal_after_the_release_takes_it_from_the_payable_balance(referred, alice, held):
    exchange = succeed(referred)
    assert reward_release_due(now=timezone.now() + 8 * DAY) == 1
    exchange_set_status(exchange_id=exchange.pk, status="cancelled")
    reversal = LedgerEntry.objects.get(kind="reversal")
    assert (reversal.amount, reversal.pending_change) == (D("-4.00"), D(0))
    assert money(alice) == (D(0), D(0))
    assert ledger_check() == []


def test_a_new_success_after_a_reversal_is_held_again(referred, alice, held):
    exchange = succeed(referred)
    exchange_set_status(exchange_id=exchange.pk, status="cancelled")
    exchange_set_status(exchange_id=exchange.pk, status="success")
    assert money(alice) == (D(0), D("4.00"))
    credit = LedgerEntry.objects.get(kind="credit", sequence=3)
    assert RewardHold.objects.get().entry_id == credit.pk
    assert reward_release_due(now=timezone.now() + 8 * DAY) == 1
    assert money(alice) == (D("4.00"), D(0))
    assert ledger_check() == []


def test_a_payout_takes_only_payable_money(referred, alice, held, usdt_method):
    succeed(referred, "3000")  # 12.00, pending
    assert money(alice) == (D(0), D("12.00"))
    with pytest.raises(PayoutError) as refused:
        payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc")
    assert refused.value.field == "balance"
    assert money(alice) == (D(0), D("12.00"))

    reward_release_due(now=timezone.now() + 8 * DAY)
    succeed(referred, "1000")  # 4.00, pending: stays out of the payout
    payout = payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc")
    assert payout.original_amount == D("12.00")
    assert money(alice) == (D(0), D("4.00"))
    assert ledger_check() == []


def test_a_later_change_of_the_period_keeps_the_rewards_already_held(referred, alice, held):
    exchange = succeed(referred)
    held.hold_days = 0
    held.save()
    succeed(referred)
    assert money(alice) == (D("4.00"), D("4.00"))
    hold = RewardHold.objects.get()
    assert hold.entry.exchange_id == exchange.pk
    assert hold.release_at == hold.entry.created_at + 7 * DAY


@pytest.mark.django_db(transaction=True)
def test_the_worker_releases_what_is_due(referred, alice, held):
    succeed(referred)
    succeed(referred)
    first = RewardHold.objects.order_by("entry_id").first()
    RewardHold.objects.filter(pk=first.pk).update(release_at=timezone.now() - DAY)
    call_command("worker", "--burst")
    assert money(alice) == (D("4.00"), D("4.00"))
    call_command("worker", "--burst")
    assert LedgerEntry.objects.filter(kind="release").count() == 1
    assert ledger_check() == []


def test_ledger_check_recomputes_pending_and_payable(referred, alice, held):
    exchange = succeed(referred)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE rewards_partneraccount SET pending = 0, balance = 4 "
                       "WHERE partner_id = %s", [alice.pk])
    problems = ledger_check()
    assert f"partner {alice.pk}: balance 4.00 != ledger sum 0.00" in problems
    assert f"partner {alice.pk}: pending 0.00 != ledger pending 4.00" in problems

    PartnerAccount.objects.filter(pk=alice.pk).update(pending=D(4), balance=D(0))
    credit = LedgerEntry.objects.get(exchange=exchange)
    RewardHold.objects.all().delete()
    assert ledger_check() == [f"credit {credit.pk}: pending but not waiting for release"]


def test_ledger_check_catches_a_release_that_does_not_match(referred, alice, held):
    exchange = succeed(referred)
    reward_release_due(now=timezone.now() + 8 * DAY)
    release = LedgerEntry.objects.get(kind="release")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE rewards_ledgerentry SET pending_change = -3 WHERE id = %s",
                       [release.pk])
    problems = ledger_check()
    assert f"exchange {exchange.pk}: release #{release.pk} does not match credit " \
           f"#{release.pk - 1}" in problems


def test_balances_of_a_partner_without_an_account(alice):
    assert partner_balances(alice.pk) == Balances(payable=D(0), pending=D(0),
                                                  second_tier=D(0))
