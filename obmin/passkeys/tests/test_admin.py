"""carol's list of partners' passkeys: read only, and one removed (a lost device) through the
same service as the partner's own removal, audited under carol's name; the partner's page
shows its two-factor state (ops/admin.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from obmin.audit.models import AuditAction, AuditEntry
from obmin.passkeys.services import passkey_add, passkey_registration_options
from obmin.testing.authenticator import SoftAuthenticator
from obmin.twofactor.services import twofactor_enabled

pytestmark = pytest.mark.django_db
SITE = "https://obmin.example"
LIST = "/admin/django_otp_webauthn/webauthncredential/"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


def add(user, name: str) -> WebAuthnCredential:
    options, state = passkey_registration_options(user=user)
    return passkey_add(user=user, state=state, response=SoftAuthenticator(origin=SITE)
                       .create(options), name=name, manage_url=SITE + "/cabinet/").passkey


@pytest.fixture
def operator(client, carol):
    client.force_login(carol)
    return client


def test_the_list_shows_whose_passkeys_and_nothing_is_edited(operator, alice, bob):
    laptop = add(alice.user, "Alice's laptop")
    add(bob.user, "Bob's phone")
    page = operator.get(LIST).content.decode()
    assert "Alice&#x27;s laptop" in page and "Bob&#x27;s phone" in page
    assert alice.user.email in page and bob.user.email in page
    mine = operator.get(LIST, {"user": alice.user.pk}).content.decode()
    assert "Alice&#x27;s laptop" in mine and "Bob&#x27;s phone" not in mine
    change = operator.get(f"{LIST}{laptop.pk}/change/")
    assert change.status_code == 200
    assert 'name="name"' not in change.content.decode()  # read only
    assert operator.get(f"{LIST}add/").status_code == 403
    assert operator.post(f"{LIST}{laptop.pk}/change/", {"name": "renamed"}).status_code == 403
    laptop.refresh_from_db()
    assert laptop.name == "Alice's laptop"


def test_carol_removes_a_lost_passkey_audited(operator, alice):
    lost = add(alice.user, "Lost phone")
    add(alice.user, "Laptop")
    response = operator.post(f"{LIST}{lost.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert list(WebAuthnCredential.objects.values_list("name", flat=True)) == ["Laptop"]
    entry = AuditEntry.objects.get(action=AuditAction.PASSKEY_REMOVED)
    assert entry.actor == "staff:carol@example.com" and entry.object_id == str(lost.pk)
    assert entry.before["name"] == "Lost phone" and entry.before["user"] == alice.user.email
    assert twofactor_enabled(alice.user)


def test_the_last_passkey_removed_by_carol_resets_two_factor(
        operator, alice, mailoutbox, django_capture_on_commit_callbacks):
    only = add(alice.user, "Only key")
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(LIST, {"action": "delete_selected", "_selected_action":
                                        [only.pk], "post": "yes"})
    assert response.status_code == 302
    assert not WebAuthnCredential.objects.exists() and not twofactor_enabled(alice.user)
    assert AuditEntry.objects.filter(action=AuditAction.PASSKEY_REMOVED,
                                     actor="staff:carol@example.com").count() == 1
    assert AuditEntry.objects.filter(action=AuditAction.TWOFACTOR_RESET).count() == 1
    assert "Two-factor sign-in is turned off" in [m.subject for m in mailoutbox]


def test_the_partners_page_shows_its_two_factor_state(operator, alice, bob):
    url = reverse("admin:partners_partner_change", args=[alice.pk])
    text = operator.get(url).content.decode()
    assert "Two-factor sign-in" in text and "off" in text
    TOTPDevice.objects.create(user=alice.user, name="app", confirmed=True)
    add(alice.user, "Laptop")
    add(alice.user, "Phone")
    WebAuthnCredential.objects.filter(name="Phone").update(last_used_at="2026-11-28T14:05Z")
    text = operator.get(url).content.decode()
    assert "authenticator app: on" in text and "passkeys: 2" in text, text
    assert "last used 2026-11-28 14:05" in text
    assert f"{LIST}?user={alice.user.pk}" in text
    bob_text = operator.get(reverse("admin:partners_partner_change", args=[bob.pk])).content
    assert b"authenticator app: off" in bob_text and b"passkeys: 0" in bob_text
