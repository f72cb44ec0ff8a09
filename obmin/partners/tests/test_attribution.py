"""Which partner an exchange made through the real /exchange/ form belongs to."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from obmin.exchange.models import Exchange
from obmin.exchange.services import exchange_set_status
from obmin.lib.visitor import USER_HASH_COOKIE
from obmin.partners.attribution import REF_COOKIE, signed_cookie_value
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
    client.cookies[REF_COOKIE] = signed_cookie_value(
        REF_COOKIE, f"{alice.pk}.{int(timezone.now().timestamp()) - 300 * 86400}")
    assert exchange(client).partner == alice


# --- the click's traffic source, carried to the exchange ------------------------------------


def test_the_click_source_reaches_the_exchange(client, alice, pm_btc):
    client.get("/ref/alice001/", {"cur_from": "PMUSD", "cur_to": "BTC", "sub1": "tiktok-7",
                                  "sub5": "v2", "utm_source": "bestchange"},
               HTTP_USER_AGENT=CHROME, REMOTE_ADDR="8.8.8.8")
    made = exchange(client)
    assert made.partner == alice
    assert (made.sub1, made.sub2, made.sub5, made.utm_source, made.country) == (
        "tiktok-7", "", "v2", "bestchange", "US")


def test_the_last_click_source_wins_and_a_click_without_one_carries_none(client, alice, bob,
                                                                         pm_btc):
    client.get("/ref/alice001/", {"sub1": "first"}, HTTP_USER_AGENT=CHROME,
               REMOTE_ADDR="10.0.0.1")
    client.get("/ref/bob00002/", {"sub1": "second"}, HTTP_USER_AGENT=CHROME,
               REMOTE_ADDR="10.0.0.1")
    made = exchange(client, email="one@example.org")
    assert (made.partner, made.sub1, made.country) == (bob, "second", "")
    time.sleep(1.05)  # a later second: the referral cookie's value changes
    client.get("/ref/alice001/", HTTP_USER_AGENT=CHROME, REMOTE_ADDR="10.0.0.1")
    made = exchange(client, email="two@example.org")
    assert (made.partner, made.sub1) == (alice, "")  # bob's click's source is not alice's


def test_a_bound_customer_keeps_its_partner_but_not_another_partners_source(client, alice, bob,
                                                                            pm_btc):
    client.get("/ref/alice001/", {"sub1": "a"}, HTTP_USER_AGENT=CHROME)
    first = exchange(client, email="loyal@example.org")
    exchange_set_status(exchange_id=first.pk, status="success")
    client.get("/ref/bob00002/", {"sub1": "b"}, HTTP_USER_AGENT=CHROME)
    made = exchange(client, email="loyal@example.org")
    assert (made.partner, made.sub1) == (alice, "")


def test_a_forged_source_cookie_is_cleaned(client, alice, pm_btc):
    import base64
    import json

    from obmin.partners.sources import SOURCE_COOKIE

    follow(client, "alice001")
    stamp = client.cookies[REF_COOKIE].value.split(":", 1)[0]  # the signed value
    forged = json.dumps({"sub1": "ok\x00" + "x" * 100, "sub2": 5, "country": "not",
                         "utm_medium": "\u202egood", "evil": "x"}).encode()
    encoded = base64.urlsafe_b64encode(forged).decode().rstrip("=")
    # Signed as ours (only the server can): what it carries is still cleaned.
    client.cookies[SOURCE_COOKIE] = signed_cookie_value(SOURCE_COOKIE, f"{stamp}.{encoded}")
    made = exchange(client)
    assert made.partner == alice
    assert made.sub1 == "ok" + "x" * 62 and made.sub2 == "" and made.country == ""
    assert made.utm_medium == "good"
    client.cookies[SOURCE_COOKIE] = signed_cookie_value(SOURCE_COOKIE, f"{stamp}.!!!")
    assert exchange(client).sub1 == ""


# --- attribution that cannot be claimed (issue 20) -----------------------------------------


def test_an_unpaid_exchange_cannot_claim_a_customer(client, alice, bob, pm_btc):
    # alice opens her own link and submits an exchange with a customer's e-mail, never paid.
    follow(client, "alice001")
    hijack = exchange(client, email="victim@example.org")
    assert hijack.partner == alice and hijack.status == "new"
    # ...or has it cancelled: neither binds.
    exchange(client, email="victim2@example.org")
    exchange_set_status(exchange_id=Exchange.objects.order_by("-id").first().pk,
                        status="cancelled")
    # The customer later arrives through bob's link, on their own device.
    client.cookies.clear()
    follow(client, "bob00002")
    assert exchange(client, email="victim@example.org").partner == bob
    assert exchange(client, email="Victim2@example.org").partner == bob
    # Once the customer's exchange with bob succeeds, the customer is bob's.
    exchange_set_status(exchange_id=Exchange.objects.order_by("-id").first().pk,
                        status="success")
    client.cookies.clear()
    follow(client, "alice001")
    assert exchange(client, email="victim2@example.org").partner == bob
