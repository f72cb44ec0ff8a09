"""Which partner an exchange made through the real /exchange/ form belongs to."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from obmin.exchange.models import Exchange
from obmin.exchange.services import exchange_set_status
from obmin.lib.visitor import USER_HASH_COOKIE
from obmin.partners.attribution import REF_COOKIE
from obmin.partners.models import Click, ReferralSettings
from obmin.partners.services import partner_set_blocked
from obmin.partners.tests.conftest import CHROME, GOOGLEBOT

pytestmark = pytest.mark.django_db


def follow(client, code, agent=CHROME):
    return client.get(f"/ref/{code}/", {"cur_from": "PMUSD", "cur_to": "BTC"},
                      HTTP_USER_AGENT=agent)


def exchange(client, email="customer@example.org") -> Exchange:
    response = client.post("/exchange/", {
        "cur_from": "PMUSD", "cur_to": "BTC", "amount_give": "100", "email": email,
        "account_get": "bc1qcustomerwallet"}, HTTP_USER_AGENT=CHROME)
    assert response.status_code == 302, response.content[:500]
    return Exchange.objects.order_by("-id").first()


def test_later_exchange_belongs_to_the_partner_and_keeps_the_visitor(client, alice, pm_btc):
    follow(client, "alice001")
    made = exchange(client)
    assert made.partner == alice
    assert made.user_hash == Click.objects.get().user_hash != ""


def test_without_a_referral_cookie_nothing_is_attributed(client, alice, pm_btc):
    made = exchange(client)
    assert made.partner is None and made.user_hash == ""


def test_last_click_wins(client, alice, bob, pm_btc):
    follow(client, "alice001")
    follow(client, "bob00002")
    assert exchange(client).partner == bob


def test_a_crawler_click_does_not_replace_the_referral(client, alice, bob, pm_btc):
    follow(client, "alice001")
    follow(client, "bob00002", agent=GOOGLEBOT)
    assert exchange(client).partner == alice


def test_a_bound_customer_stays_with_its_first_partner(client, alice, bob, pm_btc):
    follow(client, "alice001")
    first = exchange(client, email="Loyal@Example.org")
    exchange_set_status(exchange_id=first.pk, status="success")  # only success binds
    client.cookies.clear()
    follow(client, "bob00002")  # the same customer later comes through bob's link
    assert exchange(client, email="loyal@example.org").partner == alice
    # ...and on another device, with no cookie at all.
    client.cookies.clear()
    assert exchange(client, email="LOYAL@example.org").partner == alice


def test_partner_exchanging_for_itself_earns_nothing(client, alice, pm_btc):
    follow(client, "alice001")
    assert exchange(client, email="Alice@Example.com").partner is None


def test_logged_in_partner_with_its_own_cookie_earns_nothing(client, alice, pm_btc):
    client.force_login(alice.user)
    follow(client, "alice001")
    assert exchange(client, email="friend-of-alice@example.org").partner is None


def test_blocked_partner_is_attributed_nothing(client, alice, bob, pm_btc):
    follow(client, "alice001")
    partner_set_blocked(partner=alice, blocked=True)
    assert exchange(client).partner is None
    # A customer bound to a blocked partner is not handed to another one either.
    partner_set_blocked(partner=bob, blocked=False)
    Exchange.objects.update(partner=alice, status="success")
    follow(client, "bob00002")
    assert exchange(client).partner is None


def test_expired_or_forged_referral_cookie_attributes_nothing(client, alice, pm_btc):
    ReferralSettings.objects.create(cookie_days=30)
    old = int(time.time()) - 31 * 86400
    client.cookies[REF_COOKIE] = f"{alice.pk}.{old}"
    assert exchange(client).partner is None
    client.cookies[REF_COOKIE] = f"99999.{int(time.time())}"
    assert exchange(client).partner is None
    client.cookies[REF_COOKIE] = "nonsense"
    client.cookies[USER_HASH_COOKIE] = "\x00" * 40
    made = exchange(client)
    assert made.partner is None and made.user_hash == ""


def test_cookie_within_lifetime_is_honoured(client, alice, pm_btc):
    client.cookies[REF_COOKIE] = f"{alice.pk}.{int(timezone.now().timestamp()) - 300 * 86400}"
    assert exchange(client).partner == alice
