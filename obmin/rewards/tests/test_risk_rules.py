"""Each risk rule holds a reward for review with its evidence, says it in words, and can be
switched off by the operator; a clean exchange is credited as before."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache

from obmin.exchange.services import exchange_set_status
from obmin.partners.models import Click, PartnerSignIn
from obmin.rewards.models import Payout, RewardOverride, RewardReview, RiskSettings
from obmin.rewards.risk import RULES, evidence_text
from obmin.rewards.selectors import partner_balances
from obmin.rewards.services import ledger_check
from obmin.testing.factories import PartnerFactory, UserFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def fixed_reward(alice, program):
    RewardOverride.objects.create(partner=alice, kind="fixed", value=D("10"))
    cache.clear()


def succeed(referred, *, email="customer@example.org", user_ip="", user_hash="", partner=None):
    kwargs = {"partner": partner} if partner is not None else {}
    exchange = referred("1000", email=email, **kwargs)
    exchange.user_ip = user_ip or None
    exchange.user_hash = user_hash
    exchange.save(update_fields=["user_ip", "user_hash"])
    exchange_set_status(exchange_id=exchange.pk, status="success")
    return exchange


def hits_of(exchange) -> dict[str, dict]:
    review = RewardReview.objects.filter(exchange=exchange).first()
    return {} if review is None else {hit["rule"]: hit for hit in review.evidence}


def test_a_clean_exchange_is_payable_as_before(alice, referred):
    exchange = succeed(referred, user_ip="198.51.100.1")
    assert hits_of(exchange) == {}
    assert partner_balances(alice.pk).payable == D("10.00")


def test_gmail_dots_and_tags_are_the_partners_own_mailbox(alice, referred):
    alice.user.email = "alice.smith@gmail.com"
    alice.user.save()
    hit = hits_of(succeed(referred, email="AliceSmith+x@googlemail.com"))["self_email"]
    assert hit["partner_email"] == "alice.smith@gmail.com"
    assert "alicesmith+x@googlemail.com" in evidence_text(hit)


def test_the_customers_device_is_one_the_partner_signed_in_with(alice, referred):
    PartnerSignIn.objects.create(partner=alice, network="192.0.2.0", user_hash="vid12345678")
    hit = hits_of(succeed(referred, user_hash="vid12345678"))["self_device"]
    assert hit["user_hash"] == "vid12345678"
    assert "vid12345678" in evidence_text(hit)
    assert partner_balances(alice.pk).payable == 0


def test_another_partners_sign_ins_are_no_evidence(alice, bob, referred):
    PartnerSignIn.objects.create(partner=bob, network="203.0.113.0", user_hash="vid12345678")
    assert hits_of(succeed(referred, user_ip="203.0.113.5", user_hash="vid12345678")) == {}


def test_a_disposable_partner_email(alice, referred):
    alice.user.email = "alice@mailinator.com"
    alice.user.save()
    hit = hits_of(succeed(referred))["disposable_email"]
    assert hit == {"rule": "disposable_email", "domain": "mailinator.com"}
    assert "mailinator.com" in evidence_text(hit)


def test_the_operator_adds_disposable_domains(alice, referred):
    alice.user.email = "alice@burner.example"
    alice.user.save()
    settings = RiskSettings.load()
    settings.disposable_domains = "burner.example\n"
    settings.save()
    assert "disposable_email" in hits_of(succeed(referred))


def test_a_payout_account_shared_with_another_partner(alice, bob, referred, usdt_method):
    for partner in (alice, bob):
        Payout.objects.create(partner=partner, method=usdt_method, account="TXshared",
                              amount=D(1), currency_code="USDT", original_amount=D(1),
                              status=2)
    hit = hits_of(succeed(referred))["shared_wallet"]
    assert hit == {"rule": "shared_wallet", "account": "TXshared", "partners": ["bob00002"]}
    assert "TXshared" in evidence_text(hit) and "bob00002" in evidence_text(hit)


def _clicks(partner, count, network="198.51.100", referrer="", user_hash=""):
    Click.objects.bulk_create([
        Click(partner=partner, ip=f"{network}.0" if network else "", referrer=referrer,
              user_hash=user_hash or f"v{partner.pk}x{index:06d}")
        for index in range(count)])


def test_conversion_far_above_the_programs(alice, bob, referred):
    settings = RiskSettings.load()
    settings.one_network = False
    settings.save()
    _clicks(bob, 1000)
    for index in range(2):
        succeed(referred, email=f"b{index}@example.org", partner=bob)
    _clicks(alice, 10)
    for index in range(4):
        succeed(referred, email=f"a{index}@example.org")
    assert RewardReview.objects.count() == 0  # below the fewest exchanges to judge (5)
    cache.clear()
    hit = hits_of(succeed(referred, email="a5@example.org"))["conversion_outlier"]
    assert (hit["exchanges"], hit["clicks"], hit["percent"], hit["norm_percent"]) == (
        5, 10, "50.00", "0.20")
    assert "50.00%" in evidence_text(hit)


def test_turnover_far_above_the_other_partners(alice, referred):
    others = [PartnerFactory(user=UserFactory(email=f"p{n}@example.com")) for n in range(5)]
    for index, partner in enumerate(others):
        RewardOverride.objects.create(partner=partner, kind="fixed", value=D("1"))
        succeed(referred, email=f"o{index}@example.org", partner=partner)
    settings = RiskSettings.load()
    settings.outlier_min_exchanges = 1
    settings.save()
    cache.clear()
    exchange = referred("5000", email="big@example.org")
    exchange_set_status(exchange_id=exchange.pk, status="success")
    hit = hits_of(exchange)["turnover_outlier"]
    assert D(hit["turnover"]) == D(5000) and D(hit["norm"]) == D(1000)


def test_clicks_from_one_network(alice, referred):
    _clicks(alice, 18, network="198.51.100")
    _clicks(alice, 2, network="192.0.2")
    hit = hits_of(succeed(referred))["one_network"]
    assert (hit["network"], hit["clicks"], hit["of_clicks"], hit["percent"]) == (
        "198.51.100.0", 18, 20, "90.0")
    assert "198.51.100.0" in evidence_text(hit)


def test_too_few_clicks_to_judge_one_network(alice, referred):
    _clicks(alice, 19)
    assert "one_network" not in hits_of(succeed(referred))


def test_a_banned_referrer_of_the_customers_clicks(alice, referred):
    settings = RiskSettings.load()
    settings.banned_referrers = "spam.example\n"
    settings.save()
    _clicks(alice, 1, referrer="https://ads.spam.example/landing?x=1", user_hash="custvid0001")
    hit = hits_of(succeed(referred, user_hash="custvid0001"))["banned_referrer"]
    assert hit["banned"] == "spam.example"
    assert "ads.spam.example" in evidence_text(hit)
    # Another visitor's clicks from there say nothing about this customer.
    assert "banned_referrer" not in hits_of(succeed(referred, email="x@example.org",
                                                    user_hash="othervid0001"))


def test_a_second_tier_chain_that_loops_back(alice, bob, referred):
    carl = PartnerFactory(user=UserFactory(email="carl@example.com"), ref_code="carl0003")
    alice.referred_by = bob
    alice.save()
    bob.referred_by = carl
    bob.save()
    carl.referred_by = alice
    carl.save()
    hit = hits_of(succeed(referred))["chain_loop"]
    assert hit["chain"] == ["alice001", "bob00002", "carl0003", "alice001"]
    assert "alice001 → bob00002 → carl0003 → alice001" in evidence_text(hit)


def test_every_rule_can_be_switched_off(alice, referred):
    alice.user.email = "alice@mailinator.com"
    alice.user.save()
    PartnerSignIn.objects.create(partner=alice, network="203.0.113.0")
    settings = RiskSettings.load()
    settings.self_referral = settings.disposable_email = False
    settings.save()
    assert hits_of(succeed(referred, user_ip="203.0.113.5")) == {}
    assert ledger_check() == []


def test_the_review_page_filters_by_rule():
    assert set(RULES) == {"self_email", "self_network", "self_device", "disposable_email",
                          "shared_wallet", "conversion_outlier", "turnover_outlier",
                          "one_network", "banned_referrer", "chain_loop"}


def test_private_and_loopback_networks_are_no_evidence(alice, referred):
    # Behind a proxy that hides its clients everyone is 127.0.0.1 or 10.x: no one is told apart.
    PartnerSignIn.objects.create(partner=alice, network="127.0.0.0")
    PartnerSignIn.objects.create(partner=alice, network="10.0.0.0")
    assert hits_of(succeed(referred, user_ip="127.0.0.1")) == {}
    assert hits_of(succeed(referred, email="c2@example.org", user_ip="10.0.0.9")) == {}
    _clicks(alice, 30, network="10.0.0")
    assert "one_network" not in hits_of(succeed(referred, email="c3@example.org"))
