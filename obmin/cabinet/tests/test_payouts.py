"""Rewards and payouts in the cabinet: balance, rules in words, request, cancel, isolation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.rewards.models import OverrideKind, Payout, PayoutMethod, RewardOverride
from obmin.rewards.selectors import partner_balance
from obmin.testing.factories import usable_wallet

pytestmark = pytest.mark.django_db


@pytest.fixture
def usdt_method(db):
    return PayoutMethod.objects.create(title="USDT TRC20", commission_percent=Decimal(1),
                                       min_amount=Decimal(10), currency_code="USD")


def earn(partner, direction, sum_usd: str) -> None:
    """One successful referred exchange worth a fixed reward of `sum_usd`."""
    RewardOverride.objects.update_or_create(partner=partner, direction=None, defaults={
        "kind": OverrideKind.FIXED, "value": Decimal(sum_usd)})
    exchange = exchange_create(direction=direction, amount_give=Decimal(100),
                               email="customer@example.org", account_get="T", partner_id=partner.pk)
    exchange_set_status(exchange_id=exchange.pk, status="success")


def test_request_holds_the_whole_balance_and_cancel_returns_it(client, alice, pm_usdt,
                                                               usdt_method):
    earn(alice, pm_usdt, "25")
    usable_wallet(alice, usdt_method.pk, "TXYZwallet")
    client.force_login(alice.user)
    page = client.get("/cabinet/payouts/").content.decode()
    assert 'id="balance">25.00<' in page and "24.75 USD" in page  # after 1% commission
    response = client.post("/cabinet/payouts/", {"method_id": usdt_method.pk,
                                                 "account": "TXYZwallet"})
    assert response.status_code == 302
    payout = Payout.objects.get()
    assert payout.partner == alice and payout.original_amount == Decimal(25)
    assert partner_balance(alice) == 0
    client.post(f"/cabinet/payouts/{payout.pk}/cancel/")
    payout.refresh_from_db()
    assert payout.status == 3 and partner_balance(alice) == Decimal(25)


def test_below_minimum_is_a_form_error(client, alice, pm_usdt, usdt_method):
    earn(alice, pm_usdt, "5")
    usable_wallet(alice, usdt_method.pk, "T")
    client.force_login(alice.user)
    response = client.post("/cabinet/payouts/", {"method_id": usdt_method.pk, "account": "T"})
    assert response.status_code == 400
    assert "needs at least 10.00 USD" in response.content.decode()
    assert not Payout.objects.exists()


def test_bob_cannot_cancel_or_see_alices_payout(client, alice, bob, pm_usdt, usdt_method):
    earn(alice, pm_usdt, "30")
    usable_wallet(alice, usdt_method.pk, "ALICEWALLET")
    client.force_login(alice.user)
    client.post("/cabinet/payouts/", {"method_id": usdt_method.pk, "account": "ALICEWALLET"})
    payout = Payout.objects.get()
    client.force_login(bob.user)
    assert "ALICEWALLET" not in client.get("/cabinet/payouts/").content.decode()
    client.post(f"/cabinet/payouts/{payout.pk}/cancel/")
    payout.refresh_from_db()
    assert payout.status == 0
