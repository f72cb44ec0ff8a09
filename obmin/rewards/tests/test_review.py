"""Commission review: a reward a risk rule holds waits for the operator, who approves it
(payable after its hold) or rejects it with a reason (taken back by a rejection entry; after a
payout the partner owes it and later rewards repay it). The self-referral scenario end to end."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from obmin.audit.models import AuditEntry
from obmin.exchange.services import exchange_set_status
from obmin.partners.models import PartnerSignIn
from obmin.rewards.models import (
    LedgerEntry,
    ReviewState,
    RewardHold,
    RewardOverride,
    RewardReview,
)
from obmin.rewards.risk import evidence_text
from obmin.rewards.selectors import partner_balances, partners_owing
from obmin.rewards.services import (
    PayoutError,
    ReviewError,
    ledger_check,
    payout_mark_paid,
    reward_approve,
    reward_reject,
    reward_release_due,
)
from obmin.testing.factories import PASSWORD, payout_to

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def fixed_reward(alice, program):
    RewardOverride.objects.create(partner=alice, kind="fixed", value=D("50"))


def own_network_exchange(referred, alice, *, email="alice+shop@example.com"):
    """A customer exchange from alice's own sign-in network, under her e-mail's alias."""
    PartnerSignIn.objects.create(partner=alice, network="203.0.113.0", user_hash="")
    exchange = referred("1000", email=email)
    exchange.user_ip = "203.0.113.99"
    exchange.save(update_fields=["user_ip"])
    exchange_set_status(exchange_id=exchange.pk, status="success")
    return exchange


def test_self_referral_ends_in_review_with_both_pieces_of_evidence_and_nothing_paid(
        client, alice, referred, fixed_reward, usdt_method, mailoutbox,
        django_capture_on_commit_callbacks):
    # alice signs in to her cabinet from her network: the sign-in is recorded.
    alice.user.set_password(PASSWORD)
    alice.user.save()
    response = client.post("/cabinet/login/", {"username": "alice@example.com",
                                               "password": PASSWORD},
                           REMOTE_ADDR="203.0.113.45")
    assert response.status_code == 302
    sign_in = PartnerSignIn.objects.get(partner=alice)
    assert sign_in.network == "203.0.113.0"
    # ...then, as a "customer", exchanges under her own e-mail's alias from that network.
    exchange = referred("1000", email="Alice+Shop@example.com")
    exchange.user_ip = "203.0.113.99"
    exchange.save(update_fields=["user_ip"])
    with django_capture_on_commit_callbacks(execute=True):
        exchange_set_status(exchange_id=exchange.pk, status="success")

    review = RewardReview.objects.get()
    assert review.state == ReviewState.REVIEW and review.exchange_id == exchange.pk
    rules = {hit["rule"]: hit for hit in review.evidence}
    assert set(rules) == {"self_email", "self_network"}
    assert rules["self_email"]["partner_email"] == "alice@example.com"
    assert rules["self_email"]["customer_email"] == "alice+shop@example.com"
    assert rules["self_network"]["network"] == "203.0.113.0"
    assert "203.0.113.0" in evidence_text(rules["self_network"])
    assert "alice+shop@example.com" in evidence_text(rules["self_email"])
    # Credited, but pending: nothing payable, no payout possible, the worker leaves it alone.
    assert partner_balances(alice.pk).payable == 0
    assert partner_balances(alice.pk).pending == D("50.00")
    with pytest.raises(PayoutError):
        payout_to(partner=alice, method_id=usdt_method.pk, account="TX1")
    assert reward_release_due(now=timezone.now() + timedelta(days=400)) == 0
    assert RewardHold.objects.get().for_review
    assert "reviewed" in mailoutbox[-1].body
    assert AuditEntry.objects.filter(action="reward.held").count() == 1
    assert ledger_check() == []
    # The operator decides.
    reward_approve(credit_id=review.pk)
    assert partner_balances(alice.pk).payable == D("50.00")
    assert ledger_check() == []


def test_approval_waits_out_the_holding_period(alice, referred, fixed_reward, program):
    program.hold_days = 7
    program.save()
    exchange = own_network_exchange(referred, alice)
    review = RewardReview.objects.get(exchange=exchange)
    reward_approve(credit_id=review.pk, reason="known customer")
    assert partner_balances(alice.pk).payable == 0  # still within the hold
    assert not RewardHold.objects.get().for_review
    assert reward_release_due(now=timezone.now() + timedelta(days=8)) == 1
    assert partner_balances(alice.pk).payable == D("50.00")
    with pytest.raises(ReviewError):
        reward_approve(credit_id=review.pk)
    assert ledger_check() == []


def test_rejection_in_review_takes_the_reward_from_pending_and_is_final(
        alice, referred, fixed_reward, mailoutbox, django_capture_on_commit_callbacks):
    exchange = own_network_exchange(referred, alice)
    review = RewardReview.objects.get()
    with pytest.raises(ReviewError):
        reward_reject(credit_id=review.pk, reason="  ")
    with django_capture_on_commit_callbacks(execute=True):
        reward_reject(credit_id=review.pk, reason="You referred yourself.")
    review.refresh_from_db()
    assert (review.state, review.reason) == (ReviewState.REJECTED, "You referred yourself.")
    assert partner_balances(alice.pk).payable == 0 and partner_balances(alice.pk).pending == 0
    assert not RewardHold.objects.exists()
    rejection = LedgerEntry.objects.get(kind="rejection")
    assert (rejection.amount, rejection.pending_change, rejection.sequence) == (
        D("-50.00"), D("-50.00"), 2)
    exchange.refresh_from_db()
    assert (exchange.partner_reward, exchange.reward_accrued) == (0, False)
    assert "You referred yourself." in mailoutbox[-1].body
    # Final: leaving success and coming back earns nothing again.
    exchange_set_status(exchange_id=exchange.pk, status="error")
    exchange_set_status(exchange_id=exchange.pk, status="success")
    assert LedgerEntry.objects.filter(exchange=exchange).count() == 2
    with pytest.raises(ReviewError):
        reward_reject(credit_id=review.pk, reason="again")
    assert ledger_check() == []


def test_rejection_after_payout_leaves_a_debt_the_next_rewards_repay(
        alice, referred, fixed_reward, usdt_method, mailoutbox,
        django_capture_on_commit_callbacks):
    first = referred("1000")
    exchange_set_status(exchange_id=first.pk, status="success")
    payout = payout_to(partner=alice, method_id=usdt_method.pk, account="TX1")
    payout_mark_paid(payout_id=payout.pk, actor="admin:carol")
    credit = LedgerEntry.objects.get(exchange=first, kind="credit")
    with django_capture_on_commit_callbacks(execute=True):
        reward_reject(credit_id=credit.pk, reason="Chargeback on the customer's card.")
    assert partner_balances(alice.pk).payable == D("-50.00")
    assert partners_owing() == [(alice.pk, D("-50.00"))]
    assert "You owe this amount" in mailoutbox[-1].body
    assert ledger_check() == []
    # The next reward repays the debt before anything is payable again.
    second = referred("1000", email="other@example.org")
    exchange_set_status(exchange_id=second.pk, status="success")
    assert partner_balances(alice.pk).payable == 0
    with pytest.raises(PayoutError):
        payout_to(partner=alice, method_id=usdt_method.pk, account="TX1")
    third = referred("1000", email="third@example.org")
    exchange_set_status(exchange_id=third.pk, status="success")
    assert partner_balances(alice.pk).payable == D("50.00")
    assert ledger_check() == []
    # Entries only: the paid payout and the credit are as they were.
    assert list(LedgerEntry.objects.filter(exchange=first).values_list("kind", flat=True)) == [
        "credit", "rejection"]


def test_reversal_during_review_closes_it(alice, referred, fixed_reward):
    exchange = own_network_exchange(referred, alice)
    exchange_set_status(exchange_id=exchange.pk, status="error")
    review = RewardReview.objects.get()
    assert review.state == ReviewState.REVERSED
    with pytest.raises(ReviewError):
        reward_approve(credit_id=review.pk)
    assert partner_balances(alice.pk).pending == 0
    assert ledger_check() == []


def test_second_tier_share_follows_the_review(alice, bob, referred, fixed_reward, program):
    program.second_tier_enabled = True
    program.save()
    alice.referred_by = bob
    alice.save()
    own_network_exchange(referred, alice)
    review = RewardReview.objects.get()
    assert partner_balances(bob.pk).pending == D("2.50")
    assert RewardHold.objects.filter(for_review=True).count() == 2
    reward_reject(credit_id=review.pk, reason="self-referral")
    assert partner_balances(bob.pk).pending == 0
    assert LedgerEntry.objects.filter(kind="rejection").count() == 2
    assert ledger_check() == []


def test_bulk_decisions_in_the_admin_ask_first_and_need_a_reason_to_reject(
        client, carol, alice, referred, fixed_reward):
    own_network_exchange(referred, alice)
    own_network_exchange(referred, alice, email="alice+two@example.com")
    ids = [str(pk) for pk in RewardReview.objects.values_list("pk", flat=True)]
    client.force_login(carol)
    page = client.get("/admin/rewards/rewardreview/")
    assert page.status_code == 200 and "203.0.113.0" not in page.text
    named = f"alice@example.com ({alice.ref_code})"  # as on every page of the back office
    assert named in page.text
    confirm = client.post("/admin/rewards/rewardreview/",
                          {"action": "reject", "_selected_action": ids})
    assert confirm.status_code == 200 and named in confirm.text
    assert "Reject these rewards?" in confirm.text
    assert "network 203.0.113.0" in confirm.text  # the evidence, on the confirmation page
    no_reason = client.post("/admin/rewards/rewardreview/", {
        "action": "reject", "_selected_action": ids, "confirm": "yes", "reason": ""})
    assert no_reason.status_code == 200
    assert RewardReview.objects.filter(state="review").count() == 2
    done = client.post("/admin/rewards/rewardreview/", {
        "action": "reject", "_selected_action": ids, "confirm": "yes",
        "reason": "Own traffic"}, follow=True)
    assert "2 reward(s) rejected." in done.text
    assert set(RewardReview.objects.values_list("state", "reason", "decided_by")) == {
        ("rejected", "Own traffic", "staff:carol@example.com")}
    rejected = AuditEntry.objects.filter(action="reward.rejected")
    assert rejected.count() == 2
    assert {e.actor for e in rejected} == {"staff:carol@example.com"}
    review_page = client.get(f"/admin/rewards/rewardreview/{ids[0]}/change/")
    assert "203.0.113.0" in review_page.text
    assert ledger_check() == []


def test_staff_without_the_permission_cannot_decide(client, alice, referred, fixed_reward):
    from django.contrib.auth.models import Permission

    from obmin.testing.factories import UserFactory

    own_network_exchange(referred, alice)
    clerk = UserFactory(email="clerk@example.com", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_rewardreview"))
    client.force_login(clerk)
    page = client.get("/admin/rewards/rewardreview/")
    assert page.status_code == 200 and 'value="reject"' not in page.text
    review_id = str(RewardReview.objects.get().pk)
    client.post("/admin/rewards/rewardreview/", {
        "action": "reject", "_selected_action": [review_id], "confirm": "yes",
        "reason": "x"})
    assert RewardReview.objects.get().state == "review"


def test_the_partner_sees_each_rewards_state_and_reason_in_words(
        client, alice, referred, fixed_reward, program):
    held = own_network_exchange(referred, alice)
    clean = referred("1000", email="clean@example.org")
    exchange_set_status(exchange_id=clean.pk, status="success")
    client.force_login(alice.user)
    page = client.get("/cabinet/ledger/").text
    assert "in review: the customer&#x27;s e-mail is the partner&#x27;s own; the customer&#x27;s " \
           "network is one the partner signed in from" in page
    assert "203.0.113.0" not in page  # the evidence itself stays with the operator
    assert ">approved<" in page
    reward_reject(credit_id=RewardReview.objects.get(exchange=held).pk,
                  reason="Your own purchase.")
    assert "rejected: Your own purchase." in client.get("/cabinet/ledger/").text
