"""Payouts: the whole balance is held at once, paid or refused by the operator, or cancelled."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from obmin.exchange.services import exchange_set_status
from obmin.rewards.models import LedgerEntry, Payout, PayoutMethod, RewardOverride
from obmin.rewards.selectors import (
    partner_balance,
    partner_min_payout,
    partner_payouts,
    partner_total_paid,
    payout_methods_for,
)
from obmin.rewards.services import (
    PayoutError,
    ledger_check,
    payout_cancel,
    payout_mark_paid,
    payout_refuse,
    payout_request,
)
from obmin.testing.factories import payout_to

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def earned(referred, alice):
    """Gives alice `amount` USD of credited rewards (one exchange with a fixed override)."""

    def earn(amount: str = "50.00") -> None:
        RewardOverride.objects.update_or_create(partner=alice, direction=None,
                                                defaults={"kind": "fixed", "value": D(amount)})
        exchange = referred("1000")
        exchange_set_status(exchange_id=exchange.pk, status="success")

    return earn


def test_request_holds_the_whole_balance(alice, earned, usdt_method):
    earned("50.00")
    payout = payout_to(partner=alice, method_id=usdt_method.pk, account=" TXabc ")
    assert payout.status == 0
    assert payout.account == "TXabc"
    assert payout.original_amount == D("50.00")
    assert payout.original_currency_code == "USD"
    assert payout.amount == D("49.50")  # 1% commission
    assert payout.currency_code == "USDT"
    assert partner_balance(alice) == D(0)
    assert list(LedgerEntry.objects.filter(payout=payout).values_list("kind", "amount")) == [
        ("payout_hold", D("-50.00"))]
    assert ledger_check() == []


def test_amount_is_converted_into_the_methods_currency(alice, earned):
    uah = PayoutMethod.objects.create(title="Bank card UAH", commission_percent=D(2),
                                      currency_code="UAH", usd_price=D("0.025"))
    earned("50.00")
    # 50 USD less 2% = 49 USD = 1960 UAH at 0.025 USD per UAH.
    assert payout_to(partner=alice, method_id=uah.pk, account="4149").amount == D("1960")


def test_below_min_payout_is_refused_naming_balance(alice, earned, usdt_method):
    earned("9.99")
    assert partner_min_payout(alice) == D(10)
    with pytest.raises(PayoutError) as caught:
        payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc")
    assert caught.value.field == "balance"
    assert "10.00" in caught.value.message
    assert not Payout.objects.exists()
    assert partner_balance(alice) == D("9.99")


def test_methods_own_minimum_applies_too(alice, earned, usdt_method):
    usdt_method.min_amount = D(100)
    usdt_method.save()
    earned("50.00")
    with pytest.raises(PayoutError) as caught:
        payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc")
    assert caught.value.field == "balance"


@pytest.mark.parametrize("method_id", ["999", "abc", "", None])
def test_unknown_method_is_refused_naming_method_id(alice, earned, method_id):
    earned()
    with pytest.raises(PayoutError) as caught:
        payout_request(partner=alice, method_id=method_id, account="TXabc")
    assert caught.value.field == "method_id"


def test_inactive_method_is_refused_naming_method_id(alice, earned, usdt_method):
    usdt_method.is_active = False
    usdt_method.save()
    earned()
    with pytest.raises(PayoutError) as caught:
        payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc")
    assert caught.value.field == "method_id"
    assert payout_methods_for(alice) == []


@pytest.mark.parametrize("account", ["", "   ", None, "x" * 201])
def test_empty_or_overlong_account_is_refused_naming_account(alice, earned, usdt_method,
                                                             account):
    earned()
    with pytest.raises(PayoutError) as caught:
        payout_request(partner=alice, method_id=usdt_method.pk, account=account)
    assert caught.value.field == "account"


def test_second_request_finds_the_balance_held(alice, earned, usdt_method):
    earned()
    payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc")
    with pytest.raises(PayoutError) as caught:
        payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc")
    assert caught.value.field == "balance"
    assert Payout.objects.count() == 1


def test_paid_payout_counts_as_received(alice, earned, usdt_method):
    earned("50.00")
    payout = payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc")
    assert partner_total_paid(alice) == D(0)
    paid = payout_mark_paid(payout_id=payout.pk, actor="admin:carol")
    assert (paid.status, paid.actor) == (1, "admin:carol")
    assert partner_total_paid(alice) == D("50.00")
    assert partner_balance(alice) == D(0)
    assert ledger_check() == []


def test_refusal_returns_the_hold(alice, earned, usdt_method):
    earned("50.00")
    payout = payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc")
    refused = payout_refuse(payout_id=payout.pk, actor="admin:carol", reason="Wrong address")
    assert (refused.status, refused.reason) == (2, "Wrong address")
    assert partner_balance(alice) == D("50.00")
    assert partner_total_paid(alice) == D(0)
    assert list(LedgerEntry.objects.filter(payout=payout).values_list("kind", "amount")) == [
        ("payout_hold", D("-50.00")), ("payout_release", D("50.00"))]
    assert ledger_check() == []


def test_partner_cancels_its_pending_payout(alice, earned, usdt_method):
    earned("50.00")
    payout = payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc")
    assert payout_cancel(partner=alice, payout_id=payout.pk).status == 3
    assert partner_balance(alice) == D("50.00")
    # The balance is free again: a new request may hold it.
    assert payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc").status == 0


def test_bob_cannot_cancel_alices_payout(alice, bob, earned, usdt_method):
    earned()
    payout = payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc")
    with pytest.raises(PayoutError, match="No payout"):
        payout_cancel(partner=bob, payout_id=payout.pk)
    assert Payout.objects.get(pk=payout.pk).status == 0


@pytest.mark.parametrize("first", ["paid", "refused", "cancelled"])
def test_only_pending_payouts_change(alice, earned, usdt_method, first):
    earned("50.00")
    payout = payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc")
    {"paid": lambda: payout_mark_paid(payout_id=payout.pk),
     "refused": lambda: payout_refuse(payout_id=payout.pk),
     "cancelled": lambda: payout_cancel(partner=alice, payout_id=payout.pk)}[first]()
    for change in (lambda: payout_mark_paid(payout_id=payout.pk),
                   lambda: payout_refuse(payout_id=payout.pk),
                   lambda: payout_cancel(partner=alice, payout_id=payout.pk)):
        with pytest.raises(PayoutError, match="already"):
            change()
    # The hold, then one entry for how it ended (paid, or returned).
    assert LedgerEntry.objects.filter(payout=payout).count() == 2
    assert ledger_check() == []


def test_offers_show_what_the_balance_pays_after_the_fee(alice, earned, usdt_method,
                                                         django_assert_num_queries):
    PayoutMethod.objects.create(title="Perfect Money", commission_percent=D("0.5"),
                                currency_code="USD")
    earned("50.00")
    with django_assert_num_queries(2):
        offers = payout_methods_for(alice)
    assert [(o.title, o.commission_percent, o.amount, o.currency_code) for o in offers] == [
        ("USDT TRC20", D(1), D("49.50"), "USDT"), ("Perfect Money", D("0.5"), D("49.75"), "USD")]


def test_payouts_list_is_the_partners_own_within_the_period(alice, bob, earned, usdt_method):
    earned("50.00")
    first = payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc")
    payout_cancel(partner=alice, payout_id=first.pk)
    second = payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc")
    week_ago = timezone.now() - timedelta(days=7)
    Payout.objects.filter(pk=first.pk).update(created_at=week_ago)
    assert list(partner_payouts(alice)) == [first, second]
    assert list(partner_payouts(alice, start=week_ago + timedelta(seconds=1))) == [second]
    assert list(partner_payouts(alice, start=week_ago, end=week_ago)) == [first]
    assert list(partner_payouts(bob)) == []


def test_get_info_reads_are_cheap(alice, earned, usdt_method, django_assert_num_queries):
    earned("50.00")
    with django_assert_num_queries(1):
        assert partner_balance(alice) == D("50.00")
    with django_assert_num_queries(1):
        assert partner_total_paid(alice) == D(0)
    with django_assert_num_queries(1):
        assert partner_min_payout(alice) == D(10)


@pytest.mark.parametrize("account", ["TX\x00abc", "TX\nabc", "\x7f"])
def test_control_characters_in_the_account_are_refused(alice, earned, usdt_method, account):
    earned("50.00")
    with pytest.raises(PayoutError) as caught:
        payout_request(partner=alice, method_id=usdt_method.pk, account=account)
    assert caught.value.field == "account"
    assert not Payout.objects.exists()


def test_a_blocked_partner_cannot_ask_for_a_payout(alice, earned, usdt_method):
    earned("50.00")
    alice.is_blocked = True
    alice.save()
    with pytest.raises(PayoutError) as caught:
        payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc")
    assert caught.value.field == "balance"
    assert not Payout.objects.exists()
