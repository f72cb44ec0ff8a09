"""The partner's own tools: the link builder (and its QR code), the vanity referral code chosen
once, export links for monitors only, and what a blocked partner sees and cannot do."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from obmin.partner_api.models import ApiKey
from obmin.partners.models import Click, Partner
from obmin.partners.services import partner_set_blocked

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice.user)
    return client


def test_link_builder_link_lands_on_the_direction_and_records_the_sub_ids(
        alice_client, alice, pm_btc, pm_usdt):
    page = alice_client.get("/cabinet/links/")
    html = page.content.decode()
    assert page.status_code == 200 and "/ref/alice001/" in html
    assert '<option value="PMUSD">' in html and '<option value="BTC">' in html
    response = alice_client.get("/cabinet/links/", {"cur_from": "PMUSD", "cur_to": "BTC",
                                                     "sub1": "spring sale", "sub2": "",
                                                     "sub3": "banner&top"})
    assert response.status_code == 200
    link = response.context["link"]
    parts = urlsplit(link)
    assert parts.path == "/ref/alice001/"
    assert parse_qs(parts.query) == {"cur_from": ["PMUSD"], "cur_to": ["BTC"],
                                     "sub1": ["spring sale"], "sub3": ["banner&top"]}
    html = response.content.decode()
    assert 'id="built-link"' in html and 'data-copy="built-link"' in html
    assert "<svg" in html  # the QR code, inline
    # A visitor follows the built link and lands on the exchange page of that direction.
    alice_client.logout()
    landed = alice_client.get(f"{parts.path}?{parts.query}")
    assert landed.status_code == 302
    assert landed["Location"] == "/exchange/?cur_from=PMUSD&cur_to=BTC"
    assert Click.objects.filter(partner=alice).count() == 1


def test_link_builder_refuses_a_pair_that_is_not_offered(alice_client, pm_btc, pm_usdt):
    response = alice_client.get("/cabinet/links/", {"cur_from": "BTC", "cur_to": "PMUSD"})
    assert response.status_code == 400 and response.context["link"] == ""
    assert "BTC" in response.content.decode()


def test_link_builder_qr_code_downloads_as_svg(alice_client, pm_btc):
    response = alice_client.get("/cabinet/links/qr.svg", {"cur_from": "PMUSD", "sub1": "x"})
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert "attachment" in response["Content-Disposition"]
    assert b"<svg" in response.content


def test_vanity_code_once(alice_client, alice, bob):
    taken = alice_client.post("/cabinet/account/code/", {"code": "BOB00002"})
    assert taken.status_code == 400 and "taken" in taken.content.decode()
    bad = alice_client.post("/cabinet/account/code/", {"code": "no spaces"})
    assert bad.status_code == 400
    assert alice_client.post("/cabinet/account/code/", {"code": "AliceFX"}).status_code == 302
    alice.refresh_from_db()
    assert (alice.ref_code, alice.ref_code_chosen) == ("AliceFX", True)
    assert alice.export_code == "alice001"  # monitors' export URL stays
    assert "/ref/AliceFX/" in alice_client.get("/cabinet/account/").content.decode()
    # The new code counts at once (the redirect's cache forgot the old one).
    alice_client.get("/ref/AliceFX/")
    assert Click.objects.filter(partner=alice).count() == 1
    second = alice_client.post("/cabinet/account/code/", {"code": "AliceTwo"})
    assert second.status_code == 400 and "cannot be changed" in second.content.decode()
    alice.refresh_from_db()
    assert alice.ref_code == "AliceFX"


def test_export_links_only_for_monitors(alice_client, alice):
    for path in ("/cabinet/", "/cabinet/links/"):
        assert "/service/export/" not in alice_client.get(path).content.decode(), path
    Partner.objects.filter(pk=alice.pk).update(is_monitor=True)
    html = alice_client.get("/cabinet/links/").content.decode()
    for kind in ("xml", "json", "txt"):
        assert f"/service/export/{kind}/alice001" in html
    assert 'data-copy="export-1"' in html


def test_blocked_partner_sees_why_everywhere_and_cannot_create_keys(alice_client, alice):
    partner_set_blocked(partner=alice, blocked=True)
    Partner.objects.filter(pk=alice.pk).update(block_reason="Traffic from a click farm")
    for path in ("/cabinet/", "/cabinet/exchanges/", "/cabinet/payouts/", "/cabinet/api/",
                 "/cabinet/links/", "/cabinet/account/", "/cabinet/account/password/",
                 "/cabinet/account/email/"):
        html = alice_client.get(path).content.decode()
        assert 'id="blocked-banner"' in html and "Traffic from a click farm" in html, path
    response = alice_client.post("/cabinet/api/", {"name": "script"})
    assert response.status_code == 400 and "blocked" in response.content.decode()
    assert not ApiKey.objects.filter(partner=alice).exists()


def test_unblocked_partner_sees_no_banner(alice_client):
    assert 'id="blocked-banner"' not in alice_client.get("/cabinet/").content.decode()
