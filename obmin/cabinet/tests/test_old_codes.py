"""A partner's earlier referral codes keep working after it chooses a vanity code (links already
published on monitors and sites still land, count and attribute), a code is never given to
another partner, and reserved names cannot be chosen."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import URLResolver, get_resolver

from obmin.exchange.models import Exchange
from obmin.partners.ingest import ClickData, clicks_ingest, new_click_uid
from obmin.partners.models import (
    Click,
    OldReferralCode,
    Partner,
    code_reserved,
)
from obmin.partners.services import partner_delete, partner_save, partner_set_blocked
from obmin.partners.tests.conftest import CHROME
from obmin.testing.wsgi import wsgi_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice.user)
    return client


def choose(client: Client, code: str):
    return client.post("/cabinet/account/code/", {"code": code})


def test_old_code_still_lands_counts_and_attributes_after_a_vanity_code(
        alice_client, alice, pm_btc):
    assert choose(alice_client, "AliceFX").status_code == 302
    assert list(OldReferralCode.objects.values_list("partner_id", "code")) == [
        (alice.pk, "alice001")]
    # Through the production path (obmin.wsgi's fast path), in another case too.
    fast = wsgi_request("/ref/ALICE001/", query="cur_from=PMUSD&cur_to=BTC",
                        headers={"User-Agent": CHROME})
    assert fast.status == 302 and fast.header("Location") == "/exchange/?cur_from=PMUSD&cur_to=BTC"
    # And through the whole stack, then an exchange by that visitor.
    visitor = Client()
    landed = visitor.get("/ref/alice001/", {"cur_from": "PMUSD", "cur_to": "BTC"},
                         HTTP_USER_AGENT=CHROME)
    assert landed.status_code == 302
    assert Click.objects.filter(partner=alice).count() == 2
    made = visitor.post("/exchange/", {
        "cur_from": "PMUSD", "cur_to": "BTC", "amount_give": "100",
        "email": "customer@example.org", "account_get": "bc1qcustomerwallet"},
        HTTP_USER_AGENT=CHROME)
    assert made.status_code == 302
    assert Exchange.objects.get().partner_id == alice.pk
    # The new code counts too, and the cabinet lists the old link.
    visitor.get("/ref/AliceFX/", HTTP_USER_AGENT=CHROME)
    assert Click.objects.filter(partner=alice).count() == 3
    page = alice_client.get("/cabinet/account/").content.decode()
    assert 'id="old-links"' in page and "http://127.0.0.1:8000/ref/alice001/" in page


def test_a_queued_click_with_an_old_code_is_resolved_by_the_writer(alice_client, alice,
                                                                    settings, tmp_path):
    choose(alice_client, "AliceFX")
    settings.DATA_DIR = tmp_path
    (tmp_path / "spool").mkdir()
    click = ClickData(uid=new_click_uid(), created_at=Click._meta.get_field("created_at")
                      .default(), code="Alice001", partner_id=None, user_hash="", is_bot=False,
                      browser="Firefox 121", ip="198.51.100.0", referrer="", query_string="",
                      user_agent="", seen_today=None)
    (tmp_path / "spool" / "clicks.jsonl").write_text(click.to_json() + "\n")
    clicks_ingest()
    assert Click.objects.get().partner_id == alice.pk


def test_an_old_code_is_never_given_to_another_partner(alice_client, alice, bob):
    choose(alice_client, "AliceFX")
    bob_client = Client()
    bob_client.force_login(bob.user)
    taken = choose(bob_client, "ALICE001")
    assert taken.status_code == 400 and "taken" in taken.content.decode()
    bob.ref_code = "alice001"  # the operator in the admin: the form's clean refuses it too
    with pytest.raises(ValidationError):
        bob.full_clean()


def test_the_operator_changing_a_code_keeps_the_old_one_and_a_block_covers_both(
        client, alice, pm_btc):
    alice.ref_code = "alice-new"
    partner_save(partner=alice)
    assert list(alice.old_codes.values_list("code", flat=True)) == ["alice001"]
    client.get("/ref/alice001/", HTTP_USER_AGENT=CHROME)
    assert Click.objects.filter(partner=alice).count() == 1
    partner_set_blocked(partner=alice, blocked=True)
    response = client.get("/ref/alice001/", {"cur_from": "PMUSD", "cur_to": "BTC"},
                          HTTP_USER_AGENT=CHROME)
    assert response.status_code == 302  # still lands...
    made = client.post("/exchange/", {
        "cur_from": "PMUSD", "cur_to": "BTC", "amount_give": "100",
        "email": "customer@example.org", "account_get": "bc1qcustomerwallet"},
        HTTP_USER_AGENT=CHROME)
    assert made.status_code == 302 and Exchange.objects.get().partner_id is None  # ...no credit


@pytest.mark.parametrize("code", ["ref", "REF", "Api", "ADMIN", "cabinet", "partners", "static",
                                  "staff", "obmin", "Obmin_Official", "support-desk",
                                  "the-admin", "health"])
def test_reserved_codes_are_refused_with_a_form_error(alice_client, alice, code):
    response = choose(alice_client, code)
    html = response.content.decode()
    assert response.status_code == 400 and "reserved" in html and 'class="errorlist' in html
    alice.refresh_from_db()
    assert (alice.ref_code, alice.ref_code_chosen) == ("alice001", False)


def top_level_segments(patterns) -> set[str]:
    """The first path segment of every URL the site answers (`ref`, `cabinet`, `metrics`...)."""
    segments = set()
    for pattern in patterns:
        text = str(pattern.pattern).lstrip("^")
        if isinstance(pattern, URLResolver) and not text:  # include("...") at the root
            segments |= top_level_segments(pattern.url_patterns)
            continue
        segment = re.split(r"[/(<$]", text, maxsplit=1)[0].replace("\\", "")
        if segment:
            segments.add(segment)
    return segments


def test_every_top_level_path_is_reserved():
    segments = top_level_segments(get_resolver().url_patterns)
    assert {"ref", "api", "admin", "cabinet", "partners", "service", "exchange", "metrics",
            "health", "staff", "i18n"} <= segments
    for segment in segments:
        if "." in segment or segment.startswith("request-export"):
            continue  # not shaped like a code: no link could ever take it
        assert code_reserved(segment), segment


@pytest.mark.parametrize("code", ["adm1n", "0bmin", "obm1n", "0BM1N-team", "5upport", "0fficial",
                                  "st4ff", "m0derator", "0perat0r", "5ecur1ty", "he1pd3sk"])
def test_digits_written_for_letters_do_not_dodge_the_reserved_names(code):
    assert code_reserved(code), code


def test_an_ordinary_partner_code_is_not_reserved():
    for code in ("alice001", "bestmon1", "fx-trader", "cryptoclub_ua", "bob2026", "x100k"):
        assert not code_reserved(code), code
    assert Partner.objects.count() == 0


def test_the_operator_finds_a_partner_by_an_old_code(admin_client, alice_client, alice):
    choose(alice_client, "AliceFX")
    found = admin_client.get("/admin/partners/partner/", {"q": "alice001"}).content.decode()
    assert f"/admin/partners/partner/{alice.pk}/change/" in found
    page = admin_client.get(f"/admin/partners/partner/{alice.pk}/change/").content.decode()
    assert "alice001" in page and "AliceFX" in page


@pytest.mark.parametrize("deleted_by", ["partner_delete", "its_user_deleted"])
def test_a_deleted_partners_codes_are_never_given_to_another(alice_client, alice, bob,
                                                             deleted_by):
    """Links a deleted partner published (its code now and before) stay dead: another partner
    choosing one of those codes would collect their traffic."""
    choose(alice_client, "AliceFX")
    alice_client.logout()
    if deleted_by == "partner_delete":
        partner_delete(partner=Partner.objects.get(pk=alice.pk))
    else:
        alice.user.delete()  # the admin's user page: the partner goes by cascade
    assert not Partner.objects.filter(pk=alice.pk).exists()
    assert Client().get("/ref/AliceFX/", HTTP_USER_AGENT=CHROME).status_code == 302
    assert not Click.objects.exists()  # lands, counts for nobody
    bob_client = Client()
    bob_client.force_login(bob.user)
    for code in ("alicefx", "ALICE001"):
        taken = choose(bob_client, code)
        assert taken.status_code == 400 and "taken" in taken.content.decode(), code
    bob.ref_code = "AliceFX"  # nor by the operator
    with pytest.raises(ValidationError):
        bob.full_clean()
