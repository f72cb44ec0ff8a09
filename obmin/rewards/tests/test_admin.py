"""The operator (carol) sets the rules and pays or refuses payouts in the admin."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.exchange.services import exchange_set_status
from obmin.rewards.models import Payout, RewardProgram
from obmin.rewards.selectors import partner_balance, partner_total_paid
from obmin.rewards.services import ledger_check
from obmin.testing.factories import payout_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def payouts(referred, alice, usdt_method, program):
    program.min_payout = Decimal(1)
    program.save()
    made = []
    for _n in range(2):
        exchange_set_status(exchange_id=referred("1000").pk, status="success")
        made.append(payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc"))
    return made


def act(client, action: str, payouts, reason: str = "") -> None:
    response = client.post("/admin/rewards/payout/", {
        "action": action, "_selected_action": [p.pk for p in payouts], "reason": reason},
        follow=True)
    assert response.status_code == 200


def test_operator_marks_a_payout_paid(client, carol, alice, payouts):
    client.force_login(carol)
    act(client, "mark_paid", payouts[:1])
    paid = Payout.objects.get(pk=payouts[0].pk)
    assert (paid.status, paid.actor) == (1, "admin:carol@example.com")
    assert partner_total_paid(alice) == Decimal("4.00")
    assert ledger_check() == []


def test_operator_refuses_and_the_hold_comes_back(client, carol, alice, payouts):
    client.force_login(carol)
    act(client, "refuse", payouts, reason="Account does not exist")
    assert set(Payout.objects.values_list("status", "reason")) == {(2, "Account does not exist")}
    assert partner_balance(alice) == Decimal("8.00")
    assert ledger_check() == []


def test_a_settled_payout_is_not_changed_again(client, carol, alice, payouts):
    client.force_login(carol)
    act(client, "mark_paid", payouts[:1])
    act(client, "refuse", payouts[:1])
    assert Payout.objects.get(pk=payouts[0].pk).status == 1
    assert partner_balance(alice) == Decimal(0)


def test_payouts_cannot_be_edited_added_or_deleted(client, carol, payouts):
    client.force_login(carol)
    page = client.get(f"/admin/rewards/payout/{payouts[0].pk}/change/")
    assert page.status_code == 200 and b'name="original_amount"' not in page.content
    assert client.get("/admin/rewards/payout/add/").status_code == 403
    assert client.get(f"/admin/rewards/payout/{payouts[0].pk}/delete/").status_code == 403


def test_program_settings_are_one_form(client, carol, program):
    client.force_login(carol)
    response = client.get("/admin/rewards/rewardprogram/")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/admin/rewards/rewardprogram/{program.pk}/change/")
    response = client.post(response["Location"], {
        "reward_base": "amount", "min_payout": "25", "hold_days": "14",
        "second_tier_enabled": "on", "second_tier_percent": "7.5",
            "four_eyes_amount": "0", "wallet_cooling_hours": "24"})
    assert response.status_code == 302
    program = RewardProgram.load()
    assert (program.reward_base, program.min_payout) == ("amount", Decimal(25))
    assert (program.hold_days, program.second_tier_enabled, program.second_tier_percent) \
        == (14, True, Decimal("7.5"))


@pytest.mark.parametrize("page", ["rewardlevel", "rewardoverride", "payoutmethod",
                                  "partneraccount", "payout", "ledgerentry", "rewardhold"])
def test_every_list_opens(client, carol, payouts, page):
    client.force_login(carol)
    assert client.get(f"/admin/rewards/{page}/").status_code == 200


def test_mark_paid_keeps_the_transaction_id_and_note_and_the_partner_sees_them(
        client, carol, alice, payouts):
    client.force_login(carol)
    client.post("/admin/rewards/payout/", {
        "action": "mark_paid", "_selected_action": [payouts[0].pk],
        "transaction_id": "a1b2c3d4e5f6", "note": "Sent from the hot wallet", "reason": ""},
        follow=True)
    paid = Payout.objects.get(pk=payouts[0].pk)
    assert (paid.status, paid.transaction_id, paid.paid_note) == (
        1, "a1b2c3d4e5f6", "Sent from the hot wallet")
    listing = client.get("/admin/rewards/payout/").content.decode()
    assert "0000000000" not in listing

    client.force_login(alice.user)
    page = client.get("/cabinet/payouts/").content.decode()
    assert "a1b2c3d4e5f6" in page and "Sent from the hot wallet" in page


def test_mark_paid_without_a_transaction_id_still_pays(alice, payouts):
    from obmin.rewards.services import payout_mark_paid

    paid = payout_mark_paid(payout_id=payouts[1].pk, actor="test")
    assert (paid.status, paid.transaction_id, paid.paid_note) == (1, "", "")


def test_ledger_and_balances_show_clean_amounts(client, carol, payouts):
    client.force_login(carol)
    for page in ("ledgerentry", "partneraccount", "payout"):
        text = client.get(f"/admin/rewards/{page}/").content.decode()
        assert "0000000000" not in text and "E-10" not in text, page
