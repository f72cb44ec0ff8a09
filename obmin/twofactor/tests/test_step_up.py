"""A fresh second factor before the sensitive actions (a payout wallet, an API key, the e-mail,
the password, two-factor itself): asked when the last one is older than
TWOFACTOR_FRESH_MINUTES, the form's fields kept and sent again after the code; never asked of a
partner without two-factor. And the operator's reset in the admin."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.core import mail
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from obmin.audit.models import AuditEntry
from obmin.partner_api.models import ApiKey
from obmin.rewards.models import PayoutMethod, PayoutWallet
from obmin.testing.factories import PASSWORD
from obmin.twofactor.services import SESSION_VERIFIED_AT
from obmin.twofactor.tests.test_sign_in import code_of, enable

pytestmark = pytest.mark.django_db

REVERIFY = "/cabinet/account/two-factor/confirm/"


@pytest.fixture
def usdt_method(db):
    return PayoutMethod.objects.create(
        title="USDT TRC20", min_amount=Decimal(10), currency_code="USD"
    )


@pytest.fixture
def stale(client, alice, time_machine):
    """Alice with an app, signed in with both factors eleven minutes ago."""
    time_machine.move_to(timezone.now() - timedelta(minutes=11), tick=False)
    client.force_login(alice.user)
    device, codes = enable(client, alice.user)
    time_machine.move_to(timezone.now() + timedelta(minutes=11), tick=True)
    return device


def pass_step_up(client, device, location: str, step: int = 1):
    assert location.startswith(REVERIFY + "?next="), location
    page = client.get(location)
    assert page.status_code == 200 and "Confirm it is you" in page.content.decode()
    return client.post(location, {"code": code_of(device, steps_ahead=step)})


def resubmit(client, response):
    """The "Continue" form the re-check answers with: its action and fields, POSTed again."""
    html = response.content.decode()
    assert 'id="resubmit-form"' in html
    action = html.split('id="resubmit-form"')[0].rsplit('action="', 1)[1].split('"')[0]
    fields = {}
    for part in html.split('<input type="hidden" name="')[1:]:
        name, rest = part.split('"', 1)
        if name != "csrfmiddlewaretoken":
            fields[name] = rest.split('value="', 1)[1].split('"', 1)[0]
    return client.post(action, fields)


def test_a_wallet_waits_for_a_fresh_code_and_keeps_what_was_typed(
    client, alice, usdt_method, stale
):
    response = client.post(
        "/cabinet/payouts/wallets/", {"method_id": usdt_method.pk, "account": "TWalletTyped"}
    )
    assert response.status_code == 302
    assert not PayoutWallet.objects.exists()
    response = pass_step_up(client, stale, response["Location"])
    assert response.status_code == 200
    assert "TWalletTyped" in response.content.decode()
    response = resubmit(client, response)
    assert response.status_code == 302 and response["Location"] == "/cabinet/payouts/"
    assert PayoutWallet.objects.get().account == "TWalletTyped"


def test_an_api_key_waits_for_a_fresh_code(client, alice, stale):
    assert client.get("/cabinet/api/").status_code == 200  # reading the page asks nothing
    response = client.post("/cabinet/api/", {"name": "books"})
    assert response.status_code == 302 and not ApiKey.objects.exists()
    response = resubmit(client, pass_step_up(client, stale, response["Location"]))
    assert response.status_code == 200 and ApiKey.objects.get().name == "books"


def test_the_email_change_waits_for_a_fresh_code(
    client, alice, stale, django_capture_on_commit_callbacks
):
    # Its form asks the password too: the page itself asks first.
    response = client.get("/cabinet/account/email/")
    assert response.status_code == 302 and response["Location"].startswith(REVERIFY)
    response = pass_step_up(client, stale, response["Location"])
    assert response["Location"] == "/cabinet/account/email/"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/cabinet/account/email/", {"email": "alice@new.example", "password": PASSWORD}
        )
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["alice@new.example"]]


def test_the_password_page_asks_first_and_keeps_no_password(client, alice, stale):
    response = client.get("/cabinet/account/password/")
    assert response.status_code == 302 and response["Location"].startswith(REVERIFY)
    # A stale POST is not kept (it holds passwords): the code leads back to the page.
    response = client.post(
        "/cabinet/account/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "N3w-pass-phrase",
            "new_password2": "N3w-pass-phrase",
        },
    )
    assert "twofactor_pending_post" not in client.session
    response = pass_step_up(client, stale, response["Location"])
    assert response.status_code == 302 and response["Location"] == "/cabinet/account/password/"
    assert client.get("/cabinet/account/password/").status_code == 200
    response = client.post(
        "/cabinet/account/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "N3w-pass-phrase",
            "new_password2": "N3w-pass-phrase",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/cabinet/login/"


def test_turning_it_off_needs_a_fresh_code_and_mails_the_partner(
    client, alice, stale, django_capture_on_commit_callbacks
):
    response = client.post("/cabinet/account/two-factor/off/")
    assert response.status_code == 302 and TOTPDevice.objects.exists()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = resubmit(client, pass_step_up(client, stale, response["Location"]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.exists() and not StaticDevice.objects.exists()
    assert AuditEntry.objects.filter(action="twofactor.disabled").exists()
    [message] = mail.outbox
    assert message.to == ["alice@example.com"] and "turned off" in message.subject
    # Without two-factor the actions ask nothing again.
    response = client.post("/cabinet/api/", {"name": "free"})
    assert response.status_code == 200 and ApiKey.objects.filter(name="free").exists()


def test_new_recovery_codes_replace_the_old_ones(client, alice, stale):
    old = set(StaticToken.objects.values_list("token", flat=True))
    response = client.post("/cabinet/account/two-factor/recovery-codes/new/")
    response = resubmit(client, pass_step_up(client, stale, response["Location"]))
    assert response["Location"] == "/cabinet/account/two-factor/recovery-codes/"
    page = client.get(response["Location"]).content.decode()
    new = set(StaticToken.objects.values_list("token", flat=True))
    assert len(new) == 10 and not old & new
    assert all(code in page for code in new)
    assert AuditEntry.objects.filter(action="twofactor.codes_new").exists()


def test_a_fresh_code_passes_at_once_and_goes_stale_after_the_minutes(
    client, alice, usdt_method, stale, time_machine
):
    session = client.session
    session[SESSION_VERIFIED_AT] = int(time.time())
    session.save()
    response = client.post(
        "/cabinet/payouts/wallets/", {"method_id": usdt_method.pk, "account": "TFresh"}
    )
    assert response.status_code == 302 and response["Location"] == "/cabinet/payouts/"
    time_machine.move_to(timezone.now() + timedelta(minutes=11), tick=True)
    response = client.post(
        "/cabinet/payouts/wallets/", {"method_id": usdt_method.pk, "account": "TLater"}
    )
    assert response["Location"].startswith(REVERIFY)


def test_partners_without_two_factor_keep_todays_way(client, alice, usdt_method):
    client.force_login(alice.user)
    response = client.post(
        "/cabinet/payouts/wallets/", {"method_id": usdt_method.pk, "account": "TPlain"}
    )
    assert response.status_code == 302 and response["Location"] == "/cabinet/payouts/"
    assert client.get("/cabinet/account/password/").status_code == 200


def test_the_operator_resets_a_partners_two_factor(
    client, alice, carol, django_capture_on_commit_callbacks
):
    client.force_login(alice.user)
    enable(client, alice.user)
    client.force_login(carol)
    # Carol has no second factor and the policy does not ask for one: the admin opens.
    users = client.get("/admin/auth/user/").content.decode()
    assert "two-factor" in users
    rows = {
        row.split("</a>")[0].rsplit(">", 1)[1]: row
        for row in users.split("<tr")[1:]
        if "field-username" in row
    }
    assert 'alt="True"' in rows[alice.user.username].split("field-two_factor")[1]
    assert 'alt="False"' in rows[carol.username].split("field-two_factor")[1]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/auth/user/", {"action": "reset_two_factor", "_selected_action": [alice.user.pk]}
        )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=alice.user).exists()
    entry = AuditEntry.objects.get(action="twofactor.reset")
    assert entry.actor == f"staff:{carol.username}" and entry.object_repr == alice.user.username
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_django_otp_device_pages_are_not_in_the_admin():
    assert not admin.site.is_registered(TOTPDevice)
    assert not admin.site.is_registered(StaticDevice)


def test_a_verified_session_survives_no_device_change(client, alice, stale):
    """The session's device is checked on every request: a reset logs nothing in as verified."""
    assert client.session[DEVICE_ID_SESSION_KEY]
    TOTPDevice.objects.all().delete()
    StaticDevice.objects.all().delete()
    assert client.get("/cabinet/").status_code == 200  # no device, no policy: today's way
