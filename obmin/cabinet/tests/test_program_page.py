"""The public partner program page: the live reward rules in words (levels, per-direction
rates, holds, second tier, minimum payout), payout methods, how monitors connect, sign-up and
docs links; linked from the home page and every public page's header; English and Ukrainian."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.rewards.models import OverrideKind, PayoutMethod, RewardOverride

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(program, pm_btc, pm_usdt, alice):
    program.hold_days = 7
    program.second_tier_enabled = True
    program.second_tier_percent = Decimal("5.00")
    program.min_payout = Decimal("25.00")
    program.save()
    RewardOverride.objects.create(direction=pm_btc, kind=OverrideKind.PERCENT,
                                  value=Decimal("40.00"))
    # alice's own deal is hers alone: never on the public page.
    RewardOverride.objects.create(partner=alice, kind=OverrideKind.FIXED, value=Decimal("3"))
    PayoutMethod.objects.create(title="USDT TRC20", currency_code="USDT",
                                commission_percent=Decimal("1.00"), min_amount=Decimal("10"))
    return program


def test_the_page_tells_the_live_rules_in_words(client, rules):
    response = client.get("/partners/")
    assert response.status_code == 200
    html = response.content.decode()
    for words in ("From the start: 20%.", "Once your referred turnover reaches 10000 USD: 30%.",
                  "For exchanges PMUSD → BTC: 40%", "pending for 7 days",
                  "5% of their rewards", "once it reaches 25 USD",
                  "USDT TRC20 (USDT), commission 1%, from 10 USD",
                  "http://127.0.0.1:8000/ref/YOUR_CODE/?cur_from=PMUSD&amp;cur_to=BTC",
                  "http://127.0.0.1:8000/service/export/xml/YOUR_CODE",
                  'href="/cabinet/signup/"', 'href="/partners/api/"'):
        assert words in html, words
    assert "fixed 3" not in html and "a fixed 3" not in html
    assert "Your referred turnover so far" not in html  # no partner's own figures


def test_changed_rules_show_at_once(client, rules):
    rules.hold_days = 0
    rules.second_tier_enabled = False
    rules.save()
    html = client.get("/partners/").content.decode()
    assert "payable as soon as the exchange succeeds" in html
    assert "of their rewards" not in html


def test_ukrainian(client, rules):
    client.cookies["django_language"] = "uk"
    html = client.get("/partners/").content.decode()
    assert "Партнерська програма" in html and "Стати партнером" in html
    assert "From the start" not in html


@pytest.mark.parametrize("path", ["/", "/exchange/", "/partners/api/", "/cabinet/login/",
                                  "/cabinet/signup/"])
def test_every_public_page_links_to_it(client, path, program):
    assert 'href="/partners/" id="nav-program"' in client.get(path).content.decode()


def test_the_home_page_invites_partners(client, program):
    html = client.get("/").content.decode()
    assert 'id="home-program"' in html
