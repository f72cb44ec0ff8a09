"""Four eyes: a payout at or above the operator's amount is marked paid only after another
staff member approved it; smaller ones as before."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.audit.models import AuditEntry
from obmin.exchange.services import exchange_set_status
from obmin.rewards.models import RewardOverride
from obmin.rewards.services import (
    PayoutError,
    ledger_check,
    payout_approve,
    payout_mark_paid,
)
from obmin.testing.factories import UserFactory, payout_to

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def payout(alice, referred, program, usdt_method):
    program.four_eyes_amount = D("40")
    program.save()
    RewardOverride.objects.create(partner=alice, kind="fixed", value=D("50"))
    exchange_set_status(exchange_id=referred("1000").pk, status="success")
    return payout_to(partner=alice, method_id=usdt_method.pk, account="TX1")


def test_a_large_payout_needs_another_staff_members_approval(payout):
    with pytest.raises(PayoutError, match="needs a staff member's approval"):
        payout_mark_paid(payout_id=payout.pk, actor="admin:carol")
    payout_approve(payout_id=payout.pk, actor="admin:carol")
    with pytest.raises(PayoutError, match="already approved"):
        payout_approve(payout_id=payout.pk, actor="admin:dan")
    with pytest.raises(PayoutError, match="another staff member"):
        payout_mark_paid(payout_id=payout.pk, actor="admin:carol")
    paid = payout_mark_paid(payout_id=payout.pk, actor="admin:dan", transaction_id="0xabc")
    assert (paid.status, paid.approved_by, paid.actor) == (1, "admin:carol", "admin:dan")
    assert ledger_check() == []


def test_below_the_amount_one_staff_member_pays(payout, program):
    program.four_eyes_amount = D("50.01")
    program.save()
    assert payout_mark_paid(payout_id=payout.pk, actor="admin:carol").status == 1


def test_in_the_admin_two_operators_and_the_trail(client, carol, payout):
    dan = UserFactory(email="dan@example.com", is_staff=True, is_superuser=True)
    client.force_login(carol)
    client.post("/admin/rewards/payout/", {"action": "approve", "_selected_action": [payout.pk],
                                           "transaction_id": "", "note": "", "reason": ""})
    answer = client.post("/admin/rewards/payout/", {
        "action": "mark_paid", "_selected_action": [payout.pk], "transaction_id": "T1",
        "note": "", "reason": ""}, follow=True)
    assert "another staff member marks it paid" in answer.text
    client.force_login(dan)
    client.post("/admin/rewards/payout/", {
        "action": "mark_paid", "_selected_action": [payout.pk], "transaction_id": "T1",
        "note": "", "reason": ""})
    payout.refresh_from_db()
    assert payout.status == 1
    trail = list(AuditEntry.objects.filter(object_type="rewards.payout").order_by("id")
                 .values_list("action", "actor"))
    assert trail == [("payout.requested", "system"),
                     ("payout.approved", "staff:carol@example.com"),
                     ("payout.paid", "staff:dan@example.com")]
