"""Referral and export codes the operator types: well-formed, and one partner's only.

Codes are compared ignoring case across both kinds, as the /ref/ view and the export look
them up; the database holds each kind unique ignoring case as well.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from obmin.partners.models import Partner
from obmin.testing.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def change_form(partner: Partner, **changes: str) -> dict[str, str]:
    """The admin change form of `partner` as the operator submits it, with `changes`."""
    data = {"user": str(partner.user_id), "ref_code": partner.ref_code,
            "export_code": partner.export_code,
            "created_at_0": partner.created_at.strftime("%Y-%m-%d"),
            "created_at_1": partner.created_at.strftime("%H:%M:%S")}
    if partner.export_enabled:
        data["export_enabled"] = "on"
    # The read-only list of its old referral codes comes back as the inline's formset.
    old = list(partner.old_codes.values_list("pk", flat=True))
    data.update({"old_codes-TOTAL_FORMS": str(len(old)), "old_codes-INITIAL_FORMS": str(len(old)),
                 "old_codes-MIN_NUM_FORMS": "0", "old_codes-MAX_NUM_FORMS": "1000"})
    for n, pk in enumerate(old):
        data.update({f"old_codes-{n}-id": str(pk), f"old_codes-{n}-partner": str(partner.pk)})
    return {**data, **changes}


def save(client, partner: Partner, **changes: str):
    url = reverse("admin:partners_partner_change", args=[partner.pk])
    return client.post(url, change_form(partner, **changes))


@pytest.fixture
def operator(client, carol):
    client.force_login(carol)
    return client


@pytest.fixture
def alice_feed(alice):
    """alice's export code differs from her referral code."""
    Partner.objects.filter(pk=alice.pk).update(export_code="aliceFeed")
    alice.refresh_from_db()
    return alice


TAKEN = "belongs to another partner (codes are compared ignoring case)"


@pytest.mark.parametrize(("field", "code"), [
    ("ref_code", "alice001"),  # alice's referral code
    ("ref_code", "ALICE001"),  # the same, another case
    ("ref_code", "AliceFEED"),  # alice's export code
    ("export_code", "Alice001"),  # alice's referral code as bob's export code
    ("export_code", "alicefeed"),
])
def test_a_code_of_another_partner_is_refused(operator, alice_feed, bob, field, code):
    response = save(operator, bob, **{field: code})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field]
    assert errors[field] == [f"The code {code} {TAKEN}."]
    assert Partner.objects.values_list("ref_code", "export_code").get(pk=bob.pk) == (
        "bob00002", "bob00002")


@pytest.mark.parametrize("code", ["bob 2", "bob/2", "bób2", "bob.2", "ref%20x", "b" * 33, ""])
@pytest.mark.parametrize("field", ["ref_code", "export_code"])
def test_a_malformed_code_is_refused(operator, bob, field, code):
    response = save(operator, bob, **{field: code})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field]
    assert len(errors[field]) == 1  # one reason, not a "taken" on top of it
    assert Partner.objects.values_list("ref_code", "export_code").get(pk=bob.pk) == (
        "bob00002", "bob00002")


def test_own_codes_may_be_equal_and_change_case(operator, alice, bob):
    response = save(operator, bob, ref_code="Bob-Feed_2", export_code="bob-feed_2")
    assert response.status_code == 302
    assert Partner.objects.values_list("ref_code", "export_code").get(pk=bob.pk) == (
        "Bob-Feed_2", "bob-feed_2")
    # Saving again unchanged is fine: a partner never collides with itself.
    assert save(operator, Partner.objects.get(pk=bob.pk)).status_code == 302


def test_the_new_referral_code_records_clicks(operator, client, bob, pm_btc):
    assert save(operator, bob, ref_code="Spring-Promo_2").status_code == 302
    visitor = client.__class__()
    response = visitor.get("/ref/spring-promo_2/", HTTP_USER_AGENT="Mozilla/5.0 Firefox/121.0")
    assert response.status_code == 302
    assert bob.clicks.count() == 1


@pytest.mark.parametrize(("field", "code"), [("ref_code", "ALICE001"),
                                             ("export_code", "Alice001")])
def test_the_database_refuses_a_case_variant_duplicate(alice, field, code):
    other = {"ref_code": "carol003", "export_code": "carol003", field: code}
    with pytest.raises(IntegrityError), transaction.atomic():
        PartnerFactory(**other)
    assert list(Partner.objects.all()) == [alice]
