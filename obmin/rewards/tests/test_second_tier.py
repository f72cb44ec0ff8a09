"""The second tier: a partner who signed up through another partner's link earns that sponsor a
share of its own rewards, credited and reversed with the same exactly-once ledger rules, under
the hold, one level only."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from obmin.exchange.services import exchange_set_status
from obmin.partners.services import partner_create, partner_set_blocked
from obmin.rewards.models import LedgerEntry
from obmin.rewards.selectors import partner_balances
from obmin.rewards.services import ledger_check, reward_release_due
from obmin.testing.factories import PartnerFactory, UserFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def second_tier(program):
    program.second_tier_enabled = True
    program.second_tier_percent = D(10)
    program.save()
    return program


@pytest.fixture
def brought(alice, bob):
    """bob signed up through alice's link."""
    bob.referred_by = alice
    bob.save()
    return bob


def succeed(referred, partner, amount: str = "1000", email: str = "customer@example.org"):
    exchange = referred(amount, partner=partner, email=email)
    exchange_set_status(exchange_id=exchange.pk, status="success")
    exchange.refresh_from_db()
    return exchange


def entries(exchange) -> list[tuple[str, int, int, str, str]]:
    return [(e.partner.ref_code, e.tier, e.sequence, e.kind, str(e.amount))
            for e in LedgerEntry.objects.filter(exchange=exchange).order_by("id")
            .select_related("partner")]


def test_the_sponsor_earns_its_share_and_loses_it_with_the_reversal(referred, alice, brought,
                                                                     second_tier):
    exchange = succeed(referred, brought)
    assert (exchange.partner_reward, exchange.reward_accrued) == (D("4.00"), True)
    assert entries(exchange) == [("bob00002", 1, 1, "credit", "4.00"),
                                 ("alice001", 2, 1, "credit", "0.40")]
    assert partner_balances(alice.pk).payable == D("0.40")
    assert partner_balances(alice.pk).second_tier == D("0.40")
    assert partner_balances(brought.pk).payable == D("4.00")
    assert ledger_check() == []

    exchange_set_status(exchange_id=exchange.pk, status="cancelled")
    assert entries(exchange)[2:] == [("bob00002", 1, 2, "reversal", "-4.00"),
                                     ("alice001", 2, 2, "reversal", "-0.40")]
    assert partner_balances(alice.pk).payable == partner_balances(brought.pk).payable == 0
    assert partner_balances(alice.pk).second_tier == 0
    assert ledger_check() == []

    exchange_set_status(exchange_id=exchange.pk, status="success")  # credited again, once
    assert entries(exchange)[4:] == [("bob00002", 1, 3, "credit", "4.00"),
                                     ("alice001", 2, 3, "credit", "0.40")]
    assert ledger_check() == []


def test_off_by_default(referred, alice, brought, program):
    assert program.second_tier_enabled is False
    exchange = succeed(referred, brought)
    assert [e[0] for e in entries(exchange)] == ["bob00002"]
    assert partner_balances(alice.pk).payable == 0


def test_one_level_only(referred, alice, brought, second_tier):
    dave = PartnerFactory(user=UserFactory(email="dave@example.com"), ref_code="dave0003",
                          referred_by=brought)
    exchange = succeed(referred, dave)
    assert entries(exchange) == [("dave0003", 1, 1, "credit", "4.00"),
                                 ("bob00002", 2, 1, "credit", "0.40")]
    assert partner_balances(alice.pk).payable == 0  # bob's sponsor gets nothing of dave's


def test_a_blocked_sponsor_earns_nothing_and_the_partner_still_does(referred, alice, brought,
                                                                      second_tier):
    partner_set_blocked(partner=alice, blocked=True)
    exchange = succeed(referred, brought)
    assert entries(exchange) == [("bob00002", 1, 1, "credit", "4.00")]


def test_the_sponsors_own_exchange_earns_it_no_second_tier(referred, alice, brought,
                                                             second_tier):
    exchange = succeed(referred, brought, email="alice@example.com")
    assert entries(exchange) == [("bob00002", 1, 1, "credit", "4.00")]


def test_no_share_when_the_partner_earns_nothing(referred, alice, brought, second_tier):
    exchange = succeed(referred, brought, email="bob@example.com")  # bob's own exchange
    assert entries(exchange) == []


def test_the_second_tier_waits_out_the_hold_too(referred, alice, brought, second_tier):
    second_tier.hold_days = 2
    second_tier.save()
    exchange = succeed(referred, brought)
    assert (partner_balances(alice.pk).payable, partner_balances(alice.pk).pending) == (
        D(0), D("0.40"))
    assert reward_release_due(now=timezone.now() + timedelta(days=2, seconds=1)) == 2
    assert (partner_balances(alice.pk).payable, partner_balances(alice.pk).pending) == (
        D("0.40"), D(0))
    exchange_set_status(exchange_id=exchange.pk, status="cancelled")
    assert partner_balances(alice.pk).payable == partner_balances(brought.pk).payable == 0
    assert ledger_check() == []


def test_ledger_check_catches_a_second_tier_credit_left_open(referred, alice, brought,
                                                               second_tier):
    from django.db import connection

    exchange = succeed(referred, brought)
    with connection.cursor() as cursor:  # a reversal of bob's reward only, behind our back
        cursor.execute("UPDATE exchange_exchange SET status = 'cancelled' WHERE id = %s",
                       [exchange.pk])
    from obmin.exchange.models import Exchange
    from obmin.rewards.services import _locked_account, _post

    _post(_locked_account(brought.pk), amount=D("-4.00"), kind="reversal",
          exchange=Exchange.objects.get(pk=exchange.pk), sequence=2)
    Exchange.objects.filter(pk=exchange.pk).update(reward_accrued=False, partner_reward=0)
    assert f"exchange {exchange.pk}: second-tier credit #" in "\n".join(ledger_check())


def test_sign_up_keeps_the_sponsor_unless_it_is_blocked(alice):
    partner = partner_create(email="new@example.org", password="a long enough pw 1",
                             referred_by=alice)
    assert partner.referred_by_id == alice.pk
    partner_set_blocked(partner=alice, blocked=True)
    other = partner_create(email="other@example.org", password="a long enough pw 1",
                           referred_by=alice)
    assert other.referred_by_id is None


def test_both_cabinets_show_it(client, referred, alice, brought, second_tier):
    succeed(referred, brought)
    client.force_login(alice.user)
    page = client.get("/cabinet/").content.decode()
    assert 'id="balance-second-tier">0.40<' in page
    assert 'id="balance-payable">0.40<' in page
    client.force_login(brought.user)
    page = client.get("/cabinet/").content.decode()
    assert 'id="referred-by"' in page and "alice001" in page
    assert 'id="balance-payable">4.00<' in page and 'id="balance-pending">0.00<' in page


def test_the_operator_sees_it_on_the_partner_page(client, carol, referred, alice, brought,
                                                  second_tier):
    second_tier.hold_days = 1
    second_tier.save()
    succeed(referred, brought)
    client.force_login(carol)
    page = client.get(f"/admin/partners/partner/{alice.pk}/change/").content.decode()
    assert "brought 1 partner(s); second-tier rewards 0.4 USD" in page
    page = client.get(f"/admin/partners/partner/{brought.pk}/change/").content.decode()
    pending = page[page.index("field-pending_rewards"):page.index("field-second_tier")]
    assert '<div class="readonly">4</div>' in pending
