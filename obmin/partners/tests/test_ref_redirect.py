"""`GET /ref/<code>/`: where it sends the visitor, what it records, and what it never does."""

from __future__ import annotations

import time
from urllib.parse import quote

import hypothesis
import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from obmin.lib.visitor import USER_HASH_COOKIE
from obmin.partners.attribution import REF_COOKIE, signed_cookie_value
from obmin.partners.models import Click, ReferralSettings
from obmin.partners.selectors import partner_click_stats, partner_for_code, partner_links
from obmin.partners.services import partner_set_blocked
from obmin.partners.tests.conftest import CHROME, FIREFOX, GOOGLEBOT

pytestmark = pytest.mark.django_db


def click(client, code="alice001", query="cur_from=PMUSD&cur_to=BTC", **headers):
    headers.setdefault("HTTP_USER_AGENT", CHROME)
    return client.get(f"/ref/{code}/", QUERY_STRING=query, **headers)


def test_url_name():
    assert reverse("partners:ref", args=["alice001"]) == "/ref/alice001/"


@pytest.mark.parametrize(("query", "target"), [
    ("cur_from=PMUSD&cur_to=BTC", "/exchange/?cur_from=PMUSD&cur_to=BTC"),
    ("cur_from=pmusd&cur_to=btc", "/exchange/?cur_from=PMUSD&cur_to=BTC"),
    # Only one side known (or the pair not offered): that side preselected, give side first.
    ("cur_from=PMUSD&cur_to=NOPE", "/exchange/?cur_from=PMUSD"),
    ("cur_from=NOPE&cur_to=BTC", "/exchange/?cur_to=BTC"),
    ("cur_to=BTC", "/exchange/?cur_to=BTC"),
    ("cur_from=PMUSD&cur_to=PMUSD", "/exchange/?cur_from=PMUSD"),
    # Nothing usable: home.
    ("cur_from=NOPE&cur_to=NADA", "/"),
    ("cur_from=BTC&cur_to=PMUSD", "/"),  # neither is offered on that side
    ("", "/"),
    ("cur_from=%3Cscript%3E&cur_to=../../etc", "/"),
])
def test_redirect_target(client, alice, pm_btc, pm_usdt, query, target):
    response = click(client, query=query)
    assert response.status_code == 302
    assert response["Location"] == target
    assert response["Cache-Control"] == "no-store"
    assert Click.objects.filter(partner=alice).count() == 1


def test_an_inactive_direction_is_not_offered(client, alice, pm_btc, pm_usdt):
    pm_btc.is_active = False
    pm_btc.save()  # drops the cached table of directions
    response = click(client, query="cur_from=PMUSD&cur_to=BTC")
    assert response["Location"] == "/exchange/?cur_from=PMUSD"


def test_click_is_logged_with_what_the_contract_names(client, alice, pm_btc):
    before = time.time()
    response = click(client, query="cur_from=PMUSD&cur_to=BTC&utm_source=monitor",
                     HTTP_REFERER="https://www.bestchange.ru/perfect-money-to-bitcoin.html",
                     REMOTE_ADDR="203.0.113.57")
    stored = Click.objects.get()
    assert stored.partner == alice
    assert abs(stored.created_at.timestamp() - before) < 5
    assert stored.browser == "Chrome 120"
    assert stored.ip == "203.0.113.0"
    assert stored.referrer == "https://www.bestchange.ru/perfect-money-to-bitcoin.html"
    assert stored.query_string == "cur_from=PMUSD&cur_to=BTC&utm_source=monitor"
    assert stored.user_agent == CHROME
    assert not stored.is_bot and stored.is_unique
    assert stored.user_hash == response.cookies[USER_HASH_COOKIE].value
    assert 8 <= len(stored.user_hash) <= 32


def test_unknown_browser_and_missing_referrer(client, alice, pm_btc):
    click(client, HTTP_USER_AGENT="SomethingNobodyKnows/0.1 (+weird)")
    stored = Click.objects.get()
    assert stored.browser == "Unknown"
    assert stored.referrer == ""


def test_cookies_are_first_party_and_last_the_operators_lifetime(client, alice, pm_btc):
    response = click(client)
    ref, visitor = response.cookies[REF_COOKIE], response.cookies[USER_HASH_COOKIE]
    assert ref.value.startswith(f"{alice.pk}.")
    assert ref["max-age"] == 365 * 86400 and visitor["max-age"] == 365 * 86400
    assert ref["httponly"] and ref["samesite"] == "Lax" and ref["path"] == "/"

    ReferralSettings.objects.create(cookie_days=30)  # the admin's save drops the cache
    response = click(client, code="alice001")
    assert response.cookies[REF_COOKIE]["max-age"] == 30 * 86400


def test_returning_visitor_keeps_its_hash_and_the_last_click_wins(client, alice, bob, pm_btc):
    first = click(client, code="alice001")
    visitor = first.cookies[USER_HASH_COOKIE].value
    second = click(client, code="bob00002")
    assert USER_HASH_COOKIE not in second.cookies or \
        second.cookies[USER_HASH_COOKIE].value == visitor
    assert second.cookies[REF_COOKIE].value.startswith(f"{bob.pk}.")
    assert set(Click.objects.values_list("user_hash", flat=True)) == {visitor}


def test_unique_clicks_one_visitor_per_partner_per_day(client, alice, bob, pm_btc, midday):
    click(client, code="alice001")
    click(client, code="alice001")
    click(client, code="bob00002")
    click(client, code="alice001")  # the cookie now names bob: the database must tell
    flags = list(Click.objects.order_by("id").values_list("partner__ref_code", "is_unique"))
    assert flags == [("alice001", True), ("alice001", False), ("bob00002", True),
                     ("alice001", False)]
    client.cookies.clear()  # another visitor
    click(client, code="alice001")
    assert Click.objects.filter(partner=alice, is_unique=True).count() == 2


def test_crawler_click_is_kept_flagged_and_gets_no_cookie(client, alice, pm_btc):
    for agent in [GOOGLEBOT, "curl/8.5.0", ""]:
        response = click(client, HTTP_USER_AGENT=agent)
        assert response.status_code == 302
        assert response["Location"] == "/exchange/?cur_from=PMUSD&cur_to=BTC"
        assert REF_COOKIE not in response.cookies and USER_HASH_COOKIE not in response.cookies
    assert Click.objects.filter(is_bot=True, is_unique=False).count() == 3
    assert Click.objects.get(user_agent=GOOGLEBOT).browser == "Googlebot 2"


@pytest.mark.parametrize("code", ["nosuchcode", "x" * 300, "%00%ff", "alice001'--", "ALICE001x"])
def test_unknown_code_redirects_and_records_nothing(client, alice, pm_btc, code):
    response = click(client, code=code)
    assert response.status_code == 302
    assert response["Location"] == "/exchange/?cur_from=PMUSD&cur_to=BTC"
    assert not response.cookies
    assert not Click.objects.exists()


def test_code_is_matched_in_any_case(client, alice, pm_btc):
    click(client, code="ALICE001")
    assert Click.objects.get().partner == alice


def test_blocked_partner_redirects_and_records_nothing(client, alice, pm_btc):
    click(client)  # cached as an active partner
    partner_set_blocked(partner=alice, blocked=True)
    client.cookies.clear()
    response = click(client)
    assert response.status_code == 302
    assert not response.cookies
    assert Click.objects.count() == 1


def test_ipv6_masked_and_unmasked_mode(client, alice, pm_btc):
    click(client, REMOTE_ADDR="2001:db8:85a3:8d3:1319:8a2e:370:7348")
    assert Click.objects.get().ip == "2001:db8:85a3::"
    ReferralSettings.objects.create(mask_ips=False)
    click(client, REMOTE_ADDR="2001:db8:85a3:8d3:1319:8a2e:370:7348")
    click(client, REMOTE_ADDR="203.0.113.57")
    assert list(Click.objects.order_by("id").values_list("ip", flat=True)) == [
        "2001:db8:85a3::", "2001:db8:85a3:8d3:1319:8a2e:370:7348", "203.0.113.57"]


def test_forwarded_for_is_only_believed_behind_a_trusted_proxy(client, alice, pm_btc):
    headers = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.7"}
    click(client, **headers)
    ReferralSettings.objects.create(trust_forwarded_for=True)
    click(client, **headers)
    assert list(Click.objects.order_by("id").values_list("ip", flat=True)) == [
        "127.0.0.0", "198.51.100.0"]


def test_hostile_input_is_truncated_never_an_error(client, alice, pm_btc):
    huge_query = "cur_from=PMUSD&cur_to=BTC&" + "&".join(f"x{n}=" + "A" * 8 for n in range(1100))
    assert len(huge_query) > 10_000
    response = click(
        client, query=huge_query,
        HTTP_USER_AGENT="Mozilla/5.0 " + "\x00\xff\xfe" + "A" * 100_000,
        HTTP_REFERER="https://evil.example/" + "\x00\x01\x1b[31m" + "é" * 20_000,
        HTTP_X_FORWARDED_FOR="\x00" * 5000, REMOTE_ADDR="not-an-ip",
    )
    assert response.status_code == 302
    assert response["Location"] == "/exchange/?cur_from=PMUSD&cur_to=BTC"
    stored = Click.objects.get()
    assert len(stored.query_string) == 2048 and stored.query_string.startswith("cur_from=PMUSD")
    assert len(stored.user_agent) <= 512 and "\x00" not in stored.user_agent
    assert len(stored.referrer) <= 1024 and "\x00" not in stored.referrer
    assert "\x1b" not in stored.referrer
    assert stored.ip == ""


def test_binary_bytes_as_wsgi_delivers_them(client, alice, pm_btc):
    # A WSGI server hands raw header bytes over as latin-1: here invalid UTF-8 and a NUL.
    raw = b"https://ex.example/\xff\xfe\x00\xc3\xa9".decode("latin-1")
    response = click(client, query="cur_from=PMUSD&cur_to=%FF%00BTC&q=\xff", HTTP_REFERER=raw,
                     HTTP_COOKIE=f"{USER_HASH_COOKIE}=\xff\x00bad; {REF_COOKIE}=1.\xff")
    assert response.status_code == 302
    assert response["Location"] == "/exchange/?cur_from=PMUSD"
    stored = Click.objects.get()
    assert stored.referrer == "https://ex.example/\ufffd\ufffdé"
    assert stored.user_hash == response.cookies[USER_HASH_COOKIE].value  # a fresh, valid one


def test_bad_cookie_values_are_replaced(client, alice, pm_btc):
    client.cookies[USER_HASH_COOKIE] = "<script>alert(1)</script>"
    client.cookies[REF_COOKIE] = "999999999999999999999999.1"
    response = click(client)
    assert response.cookies[USER_HASH_COOKIE].value != "<script>alert(1)</script>"
    assert Click.objects.get().user_hash == response.cookies[USER_HASH_COOKIE].value


def test_post_is_refused_and_head_answered_without_recording(client, alice, pm_btc):
    response = client.post("/ref/alice001/", HTTP_USER_AGENT=CHROME)
    assert response.status_code == 405
    response = client.head("/ref/alice001/", {"cur_from": "PMUSD", "cur_to": "BTC"},
                           HTTP_USER_AGENT=CHROME)
    assert response.status_code == 302
    assert response["Location"] == "/exchange/?cur_from=PMUSD&cur_to=BTC"
    assert not response.cookies
    assert not Click.objects.exists()


def test_without_trailing_slash_the_query_survives(client, alice, pm_btc):
    response = client.get("/ref/alice001", QUERY_STRING="cur_from=PMUSD&cur_to=BTC")
    assert response.status_code == 301
    assert response["Location"] == "/ref/alice001/?cur_from=PMUSD&cur_to=BTC"


def test_hot_path_costs_one_query(client, alice, pm_btc, django_assert_num_queries):
    click(client, HTTP_USER_AGENT=FIREFOX)  # warms the cached partner, settings, directions
    client.cookies.clear()
    with django_assert_num_queries(1):  # the INSERT of the click
        assert click(client).status_code == 302
    with django_assert_num_queries(1):  # returning visitor, same partner today: cookie says so
        click(client)
    with django_assert_num_queries(1):  # a robot
        click(client, HTTP_USER_AGENT=GOOGLEBOT)
    with django_assert_num_queries(1):  # unknown code: the look-up, nothing written
        click(client, code="nosuchcode")
    with django_assert_num_queries(0):  # not even shaped like a code
        click(client, code="no such code")


def test_cold_cache_still_answers(client, alice, pm_btc, django_assert_num_queries):
    cache.clear()
    # partner, settings, directions, INSERT, and who wants click postbacks (then memo'd too)
    with django_assert_num_queries(5):
        assert click(client).status_code == 302


def test_cookie_from_an_earlier_day_makes_todays_first_click_unique(
        client, alice, bob, pm_btc, django_assert_num_queries):
    click(client, code="bob00002")  # warms the caches, gives a visitor id
    partner_for_code("alice001")
    client.cookies[REF_COOKIE] = signed_cookie_value(REF_COOKIE,
                                                     f"{alice.pk}.{int(time.time()) - 86400}")
    with django_assert_num_queries(1):  # the cookie decides: no look-up
        click(client, code="alice001")
    assert Click.objects.filter(partner=alice).get().is_unique
    with django_assert_num_queries(2):  # the cookie now names alice; bob needs the look-up
        click(client, code="bob00002")
    assert not Click.objects.filter(partner=bob).order_by("-id").first().is_unique


def test_bot_clicks_stay_out_of_the_partners_statistics(client, alice, pm_btc, midday):
    click(client)
    click(client, HTTP_USER_AGENT=GOOGLEBOT)
    click(client, HTTP_USER_AGENT="Mozilla/5.0 (compatible; bingbot/2.0)")
    today = timezone.now().date()
    assert partner_click_stats(partner=alice, start=today, end=today) == [
        {"day": today, "clicks": 1, "unique_clicks": 1}]
    assert partner_links(partner=alice).count() == 1
    assert Click.objects.filter(is_bot=True).count() == 2


headers_text = st.text(st.characters(codec="latin-1"), max_size=3000)


@hypothesis.settings(max_examples=60, deadline=None,
                     suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
@given(query=headers_text, agent=headers_text, referer=headers_text, cookie=headers_text,
       forwarded=headers_text, code=st.text(max_size=40).filter(lambda c: "/" not in c))
def test_any_input_gets_a_redirect(client, alice, pm_btc, query, agent, referer, cookie,
                                   forwarded, code):
    ReferralSettings.objects.update_or_create(pk=1, defaults={"trust_forwarded_for": True})
    before = Click.objects.count()
    response = client.get(f"/ref/{quote(code) or 'alice001'}/", QUERY_STRING=query,
                          HTTP_USER_AGENT=agent, HTTP_REFERER=referer, HTTP_COOKIE=cookie,
                          HTTP_X_FORWARDED_FOR=forwarded)
    assert response.status_code in (301, 302)
    assert Click.objects.count() - before in (0, 1)
