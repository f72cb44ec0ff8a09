"""Whatever order approvals, rejections, reversals, releases, payouts and debts come in, the
books agree: `ledger_check` finds nothing after every step (Hypothesis picks the steps)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obmin.exchange.services import exchange_set_status
from obmin.lib.errors import Refused
from obmin.partners.models import PartnerSignIn
from obmin.rewards.models import LedgerEntry, Payout, RewardOverride, RewardReview
from obmin.rewards.services import (
    ledger_check,
    payout_approve,
    payout_cancel,
    payout_mark_paid,
    payout_refuse,
    reward_approve,
    reward_reject,
    reward_release_due,
)
from obmin.testing.factories import payout_to

pytestmark = pytest.mark.django_db
EXCHANGES = 4

step = st.one_of(
    st.tuples(st.just("status"), st.integers(0, EXCHANGES - 1),
              st.sampled_from(["success", "error", "cancelled", "paid"])),
    st.tuples(st.just("approve"), st.integers(0, EXCHANGES - 1)),
    st.tuples(st.just("reject"), st.integers(0, EXCHANGES - 1)),
    st.tuples(st.just("release"), st.integers(0, 10)),
    st.tuples(st.just("payout"), st.integers(0, 1)),
    st.tuples(st.sampled_from(["approve_payout", "pay", "refuse", "cancel"]),
              st.integers(0, 3)),
)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(step, max_size=25), hold_days=st.sampled_from([0, 3]),
       second_tier=st.booleans(), suspicious=st.lists(st.booleans(), min_size=EXCHANGES,
                                                     max_size=EXCHANGES))
def test_the_ledger_stays_clean_in_any_order(alice, bob, referred, program, usdt_method,
                                             steps, hold_days, second_tier, suspicious):
    with transaction.atomic():
        program.hold_days = hold_days
        program.second_tier_enabled = second_tier
        program.save()
        alice.referred_by = bob
        alice.save()
        RewardOverride.objects.create(partner=alice, kind="fixed", value=Decimal("20"))
        PartnerSignIn.objects.create(partner=alice, network="203.0.113.0")
        exchanges = []
        for index, held in enumerate(suspicious):
            # A suspicious one comes from alice's own network: held for review.
            exchange = referred("1000", email=f"customer{index}@example.org")
            exchange.user_ip = "203.0.113.9" if held else "198.51.100.9"
            exchange.save(update_fields=["user_ip"])
            exchanges.append(exchange)
        now = timezone.now()
        for action, *args in steps:
            try:
                with transaction.atomic():
                    _apply(action, args, exchanges, alice, usdt_method, now)
            except Refused:
                pass
            assert ledger_check() == [], (action, args)
        transaction.set_rollback(True)


def _apply(action, args, exchanges, alice, usdt_method, now):
    if action == "status":
        exchange_set_status(exchange_id=exchanges[args[0]].pk, status=args[1])
    elif action in ("approve", "reject"):
        credit = (LedgerEntry.objects.filter(exchange=exchanges[args[0]], kind="credit",
                                             tier=1).order_by("-id").first())
        if credit is None:
            return
        if action == "approve":
            reward_approve(credit_id=credit.pk, now=now)
        else:
            reward_reject(credit_id=credit.pk, reason="not owed")
    elif action == "release":
        reward_release_due(now=now + timedelta(days=args[0]))
    elif action == "payout":
        payout_to(partner=alice, method_id=usdt_method.pk, account="TX1")
    else:
        payout = Payout.objects.order_by("id")[args[0]:args[0] + 1].first()
        if payout is None:
            return
        if action == "approve_payout":
            payout_approve(payout_id=payout.pk, actor="admin:dan")
        elif action == "pay":
            payout_mark_paid(payout_id=payout.pk, actor="admin:carol")
        elif action == "refuse":
            payout_refuse(payout_id=payout.pk, actor="admin:carol", reason="no")
        else:
            payout_cancel(partner=alice, payout_id=payout.pk)
    assert RewardReview.objects.filter(state="review").count() <= len(exchanges)
