"""Two-factor sign-in end to end through the views: set-up with a code computed from the key,
the second step after the password (app code, recovery code, wrong, replayed, throttled), the
policy forcing set-up, the admin and the staff pages behind the second factor."""

from __future__ import annotations

import time
from base64 import b32decode, b32encode
from decimal import Decimal

import pytest
from django.core import mail
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from obmin.audit.models import AuditEntry
from obmin.rewards.models import PartnerAccount
from obmin.testing.factories import PASSWORD
from obmin.twofactor.models import TwoFactorPolicy

pytestmark = pytest.mark.django_db


def code_of(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """What an authenticator app with the device's key shows now (or `steps_ahead` later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def app_code(secret: str, steps_ahead: int = 0) -> str:
    """The same from the key as the page shows it for typing in (base32 in groups)."""
    key = b32decode(secret.replace(" ", "").upper() + "=" * (-len(secret.replace(" ", "")) % 8))
    totp = TOTP(key, 30, 0, 6, 0)
    totp.time = time.time() + steps_ahead * 30
    return f"{totp.token():06d}"


def enable(client, user) -> tuple[TOTPDevice, list[str]]:
    """Turns two-factor on through the pages; returns the app and the recovery codes shown."""
    response = client.post("/cabinet/account/two-factor/")
    assert response.status_code == 302 and response["Location"].startswith(
        "/cabinet/account/two-factor/app/"
    )
    page = client.get("/cabinet/account/two-factor/app/")
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert b"<svg" in page.content
    shown = page.content.decode().split('id="totp-secret">')[1].split("<")[0]
    assert shown.replace(" ", "") == TOTP_secret(device)
    response = client.post("/cabinet/account/two-factor/app/", {"code": code_of(device)})
    assert response.status_code == 302, response.content.decode()
    page = client.get(response["Location"]).content.decode()
    codes = [part.split("</code>")[0] for part in page.split("<li><code>")[1:]]
    assert len(codes) == 10
    device.refresh_from_db()
    assert device.confirmed
    return device, codes


def TOTP_secret(device: TOTPDevice) -> str:  # noqa: N802
    return b32encode(device.bin_key).decode().rstrip("=")


def password_step(client, email: str, next_url: str = "") -> str:
    data = {"username": email, "password": PASSWORD}
    url = "/cabinet/login/" + (f"?next={next_url}" if next_url else "")
    response = client.post(url, data)
    assert response.status_code == 302
    return response["Location"]


@pytest.fixture
def alice_2fa(client, alice):
    client.force_login(alice.user)
    device, codes = enable(client, alice.user)
    client.logout()
    return alice, device, codes


def test_enabling_shows_the_key_once_and_writes_the_audit_trail(client, alice):
    client.force_login(alice.user)
    assert "Turn on two-factor sign-in" in client.get("/cabinet/account/").content.decode()
    device, codes = enable(client, alice.user)
    assert StaticToken.objects.filter(device__user=alice.user).count() == 10
    assert AuditEntry.objects.filter(
        action="twofactor.enabled", actor="partner:" + alice.user.username
    ).exists()
    # The codes were shown once: the page sends back to the set-up page now.
    assert client.get("/cabinet/account/two-factor/recovery-codes/").status_code == 302
    assert "10 recovery codes left" in client.get("/cabinet/account/").content.decode()


def test_a_wrong_code_does_not_confirm_the_app(client, alice):
    client.force_login(alice.user)
    client.post("/cabinet/account/two-factor/")
    device = TOTPDevice.objects.get(user=alice.user)
    wrong = f"{(int(code_of(device)) + 1) % 1000000:06d}"
    response = client.post("/cabinet/account/two-factor/app/", {"code": wrong})
    assert response.status_code == 400 and "not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed and not StaticToken.objects.exists()


def test_password_alone_leads_to_the_second_step_and_the_app_code_opens(client, alice_2fa):
    alice, device, _codes = alice_2fa
    location = password_step(client, "alice@example.com", "/cabinet/stats/")
    assert location == "/cabinet/account/two-factor/verify/?next=%2Fcabinet%2Fstats%2F"
    # Nothing of the cabinet opens before the second step.
    response = client.get("/cabinet/payouts/")
    assert response.status_code == 302 and response["Location"].startswith(
        "/cabinet/account/two-factor/verify/"
    )
    page = client.get(location)
    assert page.status_code == 200 and 'name="code"' in page.content.decode()
    # A wrong code: a clear error, audited.
    response = client.post(
        location,
        {"code": "000000" if code_of(device) != "000000" else "111111", "next": "/cabinet/stats/"},
    )
    assert response.status_code == 400
    assert "not right" in response.content.decode()
    assert AuditEntry.objects.filter(action="twofactor.failed").count() == 1
    # The throttle (1 s after one failure) passes; the right code opens the asked page.
    device.refresh_from_db()
    device.throttling_failure_timestamp = None
    device.save()
    response = client.post(
        location, {"code": code_of(device, steps_ahead=1), "next": "/cabinet/stats/"}
    )
    assert response.status_code == 302 and response["Location"] == "/cabinet/stats/"
    assert client.get("/cabinet/payouts/").status_code == 200


def test_a_replayed_code_is_refused(client, alice_2fa):
    alice, device, _codes = alice_2fa
    # The set-up used this step's code already: signing in with it again is a replay.
    location = password_step(client, "alice@example.com")
    response = client.post(location, {"code": code_of(device)})
    assert response.status_code == 400
    assert "used already" in response.content.decode()


def test_an_unsafe_next_goes_home(client, alice_2fa):
    alice, device, _codes = alice_2fa
    location = password_step(client, "alice@example.com")
    response = client.post(
        location, {"code": code_of(device, steps_ahead=1), "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/cabinet/"


def test_a_recovery_code_opens_once_and_the_partner_is_told(
    client, alice_2fa, django_capture_on_commit_callbacks
):
    alice, _device, codes = alice_2fa
    mail.outbox.clear()
    location = password_step(client, "alice@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(location, {"code": codes[0].upper()})
    assert response.status_code == 302
    assert StaticToken.objects.filter(device__user=alice.user).count() == 9
    assert AuditEntry.objects.filter(action="twofactor.code_used").exists()
    [message] = mail.outbox
    assert message.to == ["alice@example.com"] and "recovery code" in message.subject
    client.logout()
    location = password_step(client, "alice@example.com")
    response = client.post(location, {"code": codes[0]})
    assert response.status_code == 400
    assert "not right, or it was used already" in response.content.decode()


def test_wrong_codes_are_throttled_then_rate_limited(client, alice_2fa, settings):
    alice, device, _codes = alice_2fa
    settings.TWOFACTOR_RATE_PER_USER = "3/h"
    location = password_step(client, "alice@example.com")
    client.post(location, {"code": "12345678x"})  # a wrong recovery code
    client.post(location, {"code": "12345678y"})
    response = client.post(location, {"code": "12345678z"})
    # django-otp's back-off: after two failures in a row the next try must wait.
    assert "wait" in response.content.decode()
    response = client.post(location, {"code": "12345678w"})
    assert response.status_code == 429


def test_wrong_codes_count_as_failed_logins_and_lock_the_account(client, alice_2fa):
    alice, _device, _codes = alice_2fa
    location = password_step(client, "alice@example.com")
    for attempt in range(5):
        response = client.post(location, {"code": f"nope{attempt}"})
    # django-axes locked the sign-in (its lockout answer): the half-signed session ended.
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    response = client.post(
        "/cabinet/login/", {"username": "alice@example.com", "password": PASSWORD}
    )
    assert response.status_code == 429


def test_admin_and_staff_pages_need_the_second_factor(client, carol):
    client.force_login(carol)
    device, _codes = enable(client, carol)
    client.logout()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": carol.username, "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    for path in ("/admin/", "/admin/rewards/payout/", "/staff/overview/", "/staff/desk/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/cabinet/account/two-factor/verify/"), path
    response = client.post(
        "/cabinet/account/two-factor/verify/",
        {"code": code_of(device, steps_ahead=1), "next": "/staff/desk/"},
    )
    assert response["Location"] == "/staff/desk/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/staff/desk/").status_code == 200


def test_policy_sends_staff_without_a_device_to_the_set_up(client, carol):
    policy = TwoFactorPolicy.load()
    policy.staff_required = True
    policy.save()
    client.force_login(carol)
    response = client.get("/admin/")
    assert response["Location"] == "/cabinet/account/two-factor/?next=%2Fadmin%2F"
    assert "requires two-factor" in client.get(response["Location"]).content.decode()
    device, _codes = enable(client, carol)
    assert client.get("/admin/").status_code == 200


def test_policy_for_partners_above_a_balance_spares_the_api(client, alice, bob):
    policy = TwoFactorPolicy.load()
    policy.partner_balance_above = Decimal(100)
    policy.save()
    PartnerAccount.objects.update_or_create(partner=alice, defaults={"balance": Decimal(150)})
    PartnerAccount.objects.update_or_create(partner=bob, defaults={"balance": Decimal(100)})
    client.force_login(alice.user)
    response = client.get("/cabinet/")
    assert response.status_code == 302 and response["Location"].startswith(
        "/cabinet/account/two-factor/?next="
    )
    # Not a way round it: the account page, the API page.
    assert client.get("/cabinet/api/").status_code == 302
    # The public pages and the partner API (its own credential) are not behind it.
    assert client.get("/partners/").status_code == 200
    assert client.get("/service/partner/api.php").status_code != 302
    client.force_login(bob.user)
    assert client.get("/cabinet/").status_code == 200


def test_a_required_partner_cannot_turn_it_off(client, alice_2fa):
    alice, device, _codes = alice_2fa
    policy = TwoFactorPolicy.load()
    policy.partner_balance_above = Decimal(0)
    policy.save()
    PartnerAccount.objects.update_or_create(partner=alice, defaults={"balance": Decimal(5)})
    client.force_login(alice.user)
    session = client.session
    from django_otp import DEVICE_ID_SESSION_KEY

    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session["twofactor_verified_at"] = int(time.time())
    session.save()
    response = client.post("/cabinet/account/two-factor/off/")
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=alice.user).exists()
