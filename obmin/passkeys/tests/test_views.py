"""Passkeys through the pages and the JSON endpoints passkeys.js calls, with a software
authenticator: added on the two-factor page (the first one turns two-factor on with recovery
codes), the sign-in's second step passed with one, the re-check before a sensitive action passed
with one (its form offered again), removal behind a fresh second factor, the policy's set-up."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_otp_webauthn.models import WebAuthnCredential

from obmin.audit.models import AuditAction, AuditEntry
from obmin.partner_api.models import ApiKey
from obmin.rewards.models import PartnerAccount
from obmin.testing.authenticator import SoftAuthenticator
from obmin.testing.factories import PASSWORD
from obmin.twofactor.models import TwoFactorPolicy

pytestmark = pytest.mark.django_db
SITE = "http://testserver"  # the test client's host: SITE_URL names the relying party
BASE = "/cabinet/account/two-factor/passkeys/"


@pytest.fixture(autouse=True)
def _site(settings):
    # http://testserver is not a secure context to a browser; the server-side checks hold the
    # same for it, so the test client plays a browser at SITE_URL.
    settings.SITE_URL = "https://testserver"


def post_json(client, path: str, body: dict | None = None):
    return client.post(BASE + path, json.dumps(body or {}), content_type="application/json")


def add_passkey(client, key: SoftAuthenticator, name: str = "Laptop"):
    begun = post_json(client, "add/begin/")
    assert begun.status_code == 200, begun.content
    return post_json(
        client, "add/complete/", {"name": name, "credential": key.create(begun.json()["options"])}
    )


def use_passkey(client, key: SoftAuthenticator, next: str = "", step: str = "verify"):
    """What passkeys.js does on the second step's or the re-check's form."""
    begun = post_json(client, "use/begin/")
    assert begun.status_code == 200, begun.content
    return post_json(
        client,
        "use/complete/" + (f"?next={next}" if next else ""),
        {"step": step, "credential": key.get(begun.json()["options"])},
    )


@pytest.fixture
def key():
    return SoftAuthenticator(origin="https://testserver")


@pytest.fixture
def alice_passkey(client, alice, key):
    client.force_login(alice.user)
    assert add_passkey(client, key).status_code == 200
    client.logout()
    return alice


def test_the_first_passkey_turns_two_factor_on_with_recovery_codes(client, alice, key):
    client.force_login(alice.user)
    page = client.get("/cabinet/account/two-factor/").content.decode()
    assert 'id="passkey-add-form"' in page and 'data-passkey="add"' in page
    assert "<script>" not in page  # CSP: only the static file, with the page's nonce
    answer = add_passkey(client, key, name="Work laptop")
    assert answer.json() == {"redirect": "/cabinet/account/two-factor/recovery-codes/"}
    codes = client.get(answer.json()["redirect"]).content.decode().count("<li><code>")
    assert codes == 10
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        AuditAction.PASSKEY_ADDED,
        AuditAction.TWOFACTOR_ENABLED,
        AuditAction.RECOVERY_CODES_NEW,
    } <= actions
    page = client.get("/cabinet/account/two-factor/").content.decode()
    assert 'id="passkey-list"' in page and "Work laptop" in page and "not used yet" in page
    account = client.get("/cabinet/account/").content.decode()
    assert "Work laptop" in account.split('id="account-passkeys"')[1].split("</p>")[0]
    # A second passkey, the session fresh from the first: no new codes.
    answer = add_passkey(client, SoftAuthenticator(origin="https://testserver"), name="Phone")
    assert answer.json() == {"redirect": "/cabinet/account/two-factor/"}
    assert AuditEntry.objects.filter(action=AuditAction.RECOVERY_CODES_NEW).count() == 1


def test_password_then_passkey_passes_the_second_step(client, alice_passkey, key):
    response = client.post(
        "/cabinet/login/?next=/cabinet/stats/",
        {"username": "alice@example.com", "password": PASSWORD},
    )
    assert response["Location"].startswith("/cabinet/account/two-factor/verify/")
    assert client.get("/cabinet/stats/").status_code == 302  # owes its second factor
    page = client.get(response["Location"]).content.decode()
    assert 'id="passkey-use-form"' in page and "use/complete/?next=/cabinet/stats/" in page
    answer = use_passkey(client, key, next="/cabinet/stats/", step="verify")
    assert answer.status_code == 200 and answer.json() == {"redirect": "/cabinet/stats/"}
    assert client.get("/cabinet/stats/").status_code == 200
    device = WebAuthnCredential.objects.get()
    assert device.last_used_at is not None
    entry = AuditEntry.objects.get(action=AuditAction.PASSKEY_USED)
    assert entry.actor == f"partner:{alice_passkey.user.username}"


def test_a_wrong_answer_is_refused_audited_and_opens_nothing(client, alice_passkey, key):
    client.post("/cabinet/login/", {"username": "alice@example.com", "password": PASSWORD})
    forged = SoftAuthenticator(origin="https://testserver", credential_id=key.credential_id)
    answer = use_passkey(client, forged, step="verify")
    assert answer.status_code == 400 and answer.json()["error"] == "That passkey was not accepted."
    assert AuditEntry.objects.filter(action=AuditAction.TWOFACTOR_FAILED).exists()
    assert client.get("/cabinet/").status_code == 302
    # The challenge was spent: the real passkey's answer to the old options is refused too.
    assert post_json(client, "use/complete/", {"credential": {}}).status_code == 400
    assert use_passkey(client, key).status_code == 200
    assert client.get("/cabinet/").status_code == 200


def test_without_a_passkey_there_is_nothing_to_use(client, alice):
    client.force_login(alice.user)
    answer = post_json(client, "use/begin/")
    assert answer.status_code == 400 and answer.json()["error"] == "You have no passkey."


def test_a_passkey_answers_the_recheck_and_the_api_key_form_is_sent_again(
    client, alice_passkey, key, time_machine
):
    client.post("/cabinet/login/", {"username": "alice@example.com", "password": PASSWORD})
    assert use_passkey(client, key, step="verify").status_code == 200
    time_machine.move_to(timezone.now() + timedelta(minutes=11))  # no longer fresh
    response = client.post("/cabinet/api/", {"test": "on"})
    assert response.status_code == 302 and "/two-factor/confirm/" in response["Location"]
    assert not ApiKey.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert 'id="passkey-use-form"' in page and 'name="step" value="reverify"' in page
    answer = use_passkey(client, key, next="/cabinet/api/", step="reverify")
    assert answer.json() == {"redirect": BASE + "use/continue/?next=%2Fcabinet%2Fapi%2F"}
    form = client.get(answer.json()["redirect"]).content.decode()
    assert 'id="resubmit-form"' in form and 'action="/cabinet/api/"' in form
    response = client.post("/cabinet/api/", {"test": "on"})
    assert response.status_code == 200 and ApiKey.objects.count() == 1


def test_adding_another_or_removing_one_asks_a_fresh_second_factor(
    client, alice_passkey, key, time_machine
):
    client.post("/cabinet/login/", {"username": "alice@example.com", "password": PASSWORD})
    assert use_passkey(client, key).status_code == 200
    time_machine.move_to(timezone.now() + timedelta(minutes=11))
    answer = post_json(client, "add/begin/")
    assert answer.status_code == 403
    assert answer.json()["redirect"].startswith("/cabinet/account/two-factor/confirm/")
    device = WebAuthnCredential.objects.get()
    response = client.post(f"{BASE}{device.pk}/remove/")
    assert response.status_code == 302 and "/two-factor/confirm/" in response["Location"]
    assert WebAuthnCredential.objects.exists()
    assert use_passkey(client, key, step="reverify").status_code == 200
    response = client.post(f"{BASE}{device.pk}/remove/")
    assert response["Location"] == "/cabinet/account/two-factor/"
    assert not WebAuthnCredential.objects.exists()
    assert AuditEntry.objects.filter(action=AuditAction.PASSKEY_REMOVED).count() == 1


def test_another_users_passkey_cannot_be_removed(client, alice_passkey, bob):
    client.force_login(bob.user)
    device = WebAuthnCredential.objects.get()
    client.post(f"{BASE}{device.pk}/remove/")
    assert WebAuthnCredential.objects.filter(pk=device.pk).exists()


def test_the_policy_lets_a_passkey_be_the_required_first_factor(client, alice, key):
    policy = TwoFactorPolicy.load()
    policy.partner_balance_above = Decimal(0)
    policy.save()
    PartnerAccount.objects.update_or_create(partner=alice, defaults={"balance": Decimal(5)})
    client.force_login(alice.user)
    assert client.get("/cabinet/")["Location"].startswith("/cabinet/account/two-factor/")
    assert add_passkey(client, key).status_code == 200
    assert client.get("/cabinet/").status_code == 200


def test_staff_add_a_passkey_on_their_two_factor_page(client, carol, key):
    client.force_login(carol)
    page = client.get("/cabinet/account/two-factor/").content.decode()
    assert 'id="passkey-add-form"' in page
    assert add_passkey(client, key, name="YubiKey").status_code == 200
    assert WebAuthnCredential.objects.get().user == carol
    assert AuditEntry.objects.get(action=AuditAction.PASSKEY_ADDED).actor.startswith("staff:")


def test_an_operator_signs_in_to_the_admin_with_password_and_passkey(client, carol, key):
    client.force_login(carol)
    add_passkey(client, key, name="YubiKey")
    client.logout()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": carol.username, "password": PASSWORD}
    )
    assert response["Location"] == "/admin/"
    step = client.get("/admin/")
    assert step["Location"].startswith("/cabinet/account/two-factor/verify/")
    assert 'id="passkey-use-form"' in client.get(step["Location"]).content.decode()
    assert use_passkey(client, key, next="/admin/").json() == {"redirect": "/admin/"}
    assert client.get("/admin/").status_code == 200


def sign_in_with_passkey(client, key: SoftAuthenticator, next: str = ""):
    """What passkeys.js does on the login page's "Log in with a passkey" form."""
    begun = client.post("/cabinet/login/passkey/begin/")
    assert begun.status_code == 200, begun.content
    options = begun.json()["options"]
    assert "allowCredentials" not in options or options["allowCredentials"] == []
    assert options["userVerification"] == "required"
    return client.post(
        "/cabinet/login/passkey/complete/" + (f"?next={next}" if next else ""),
        json.dumps({"credential": key.get(options)}),
        content_type="application/json",
    )


def test_a_passkey_alone_signs_in_with_both_factors(client, alice_passkey, key):
    assert 'id="passkey-sign-in-form"' in client.get("/cabinet/login/").content.decode()
    answer = sign_in_with_passkey(client, key, next="/cabinet/stats/")
    assert answer.status_code == 200 and answer.json() == {"redirect": "/cabinet/stats/"}
    assert client.get("/cabinet/stats/").status_code == 200  # no second step asked
    entry = AuditEntry.objects.get(action=AuditAction.PASSKEY_USED)
    assert entry.after["without_password"] is True
    assert entry.actor == f"partner:{alice_passkey.user.username}"


def test_a_passkey_sign_in_needs_the_user_verified_and_a_known_active_passkey(
    client, alice_passkey, key
):
    # A touch without a fingerprint, face or PIN is enough for a second step, not for this.
    options = client.post("/cabinet/login/passkey/begin/").json()["options"]
    refused = client.post(
        "/cabinet/login/passkey/complete/",
        json.dumps({"credential": key.get(options, user_verified=False)}),
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert client.get("/cabinet/").status_code == 302
    # An unknown passkey, and a known one of a deactivated user: refused.
    assert sign_in_with_passkey(client, SoftAuthenticator(origin=key.origin)).status_code == 400
    alice_passkey.user.is_active = False
    alice_passkey.user.save()
    assert sign_in_with_passkey(client, key).status_code == 400
    assert not AuditEntry.objects.filter(action=AuditAction.PASSKEY_USED).exists()


def test_no_passkey_form_where_browsers_refuse_webauthn(client, alice, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    client.force_login(alice.user)
    page = client.get("/cabinet/account/two-factor/").content.decode()
    assert 'id="passkeys-unavailable"' in page and 'id="passkey-add-form"' not in page
    assert post_json(client, "add/begin/").status_code == 400
