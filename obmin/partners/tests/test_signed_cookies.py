"""Issue 28.9: the referral cookies are signed (Django's signed cookies), so a visitor cannot
forge whose link they followed, when (a cookie that never expires), nor the click's sub-IDs,
UTM tags or country that the exchange copies."""

from __future__ import annotations

import base64
import json
import time

import pytest

from obmin.partners.attribution import REF_COOKIE
from obmin.partners.models import ReferralSettings
from obmin.partners.sources import SOURCE_COOKIE
from obmin.partners.tests.conftest import CHROME
from obmin.partners.tests.test_attribution import exchange, follow

pytestmark = pytest.mark.django_db


def test_an_unsigned_referral_cookie_attributes_nothing(client, alice, pm_btc):
    client.cookies[REF_COOKIE] = f"{alice.pk}.999999999999"  # "clicked" in the year 33658
    assert exchange(client).partner is None
    client.cookies[REF_COOKIE] = f"{alice.pk}.{int(time.time())}"
    assert exchange(client, email="two@example.org").partner is None


def test_a_signed_cookie_with_another_time_or_partner_attributes_nothing(client, alice, bob,
                                                                         pm_btc):
    ReferralSettings.objects.create(cookie_days=30)
    follow(client, "alice001")
    signed = client.cookies[REF_COOKIE].value
    value, _sep, signature = signed.partition(":")
    partner_id, clicked_at = value.split(".")
    for forged in (f"{partner_id}.999999999999:{signature}",
                   f"{bob.pk}.{clicked_at}:{signature}",
                   f"{partner_id}.{int(clicked_at) + 1}:{signature}"):
        client.cookies[REF_COOKIE] = forged
        assert exchange(client).partner is None, forged
    client.cookies[REF_COOKIE] = signed
    assert exchange(client).partner == alice


def test_a_forged_source_cookie_carries_nothing(client, alice, pm_btc):
    client.get("/ref/alice001/", {"sub1": "real"}, HTTP_USER_AGENT=CHROME, REMOTE_ADDR="8.8.8.8")
    ref = client.cookies[REF_COOKIE].value.split(":", 1)[0]
    fields = base64.urlsafe_b64encode(json.dumps(
        {"sub1": "forged", "utm_source": "forged", "country": "ZZ"}).encode()).decode()
    for forged in (f"{ref}.{fields}", client.cookies[SOURCE_COOKIE].value.replace(
            client.cookies[SOURCE_COOKIE].value.split(".")[2].split(":")[0], fields)):
        client.cookies[SOURCE_COOKIE] = forged
        made = exchange(client)
        assert made.partner == alice  # the referral cookie itself is genuine
        assert (made.sub1, made.utm_source, made.country) == ("", "", ""), forged
