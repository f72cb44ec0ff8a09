"""A partner in Chromium with its virtual authenticator (a platform passkey that verifies the
user without asking): adds a passkey on the two-factor page, logs out, logs in with the password
and passes the second step with the passkey; later, the re-check before creating an API key
accepts the passkey too; at last the passkey alone signs in from the login page. On a phone's
375 px, under the enforced Content-Security-Policy."""

from __future__ import annotations

import time

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import expect

from obmin.audit.models import AuditAction, AuditEntry
from obmin.ops.tests.test_accessibility_browser import violations
from obmin.partner_api.models import ApiKey
from obmin.passkeys.services import passkey_add, passkey_registration_options
from obmin.testing.authenticator import SoftAuthenticator, virtual_authenticator
from obmin.testing.browser import PHONE_UA, shoot
from obmin.testing.factories import PASSWORD
from obmin.twofactor.services import SESSION_VERIFIED_AT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline")));
"""


@pytest.fixture
def phone(browser, live_server, settings):
    settings.SITE_URL = live_server.url  # http://localhost:<port>: the relying party
    context = browser.new_context(
        base_url=live_server.url,
        user_agent=PHONE_UA,
        viewport={"width": 375, "height": 740},
        is_mobile=True,
    )
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def fits(page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375, page.url
    assert page.evaluate("() => window.__csp") == [], page.url


def log_in(page) -> None:
    page.goto("/cabinet/login/")
    page.fill("input[name=username]", "alice@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")


def age_second_factor(page, minutes: int) -> None:
    """The session's second factor as if passed `minutes` ago (the clock of a live server
    cannot be moved from the test)."""
    cookie = next(
        c for c in page.context.cookies() if c["name"] == django_settings.SESSION_COOKIE_NAME
    )
    session = SessionStore(session_key=cookie["value"])
    session[SESSION_VERIFIED_AT] = session[SESSION_VERIFIED_AT] - minutes * 60
    session.save()


def test_partner_adds_a_passkey_signs_in_with_it_and_confirms_an_api_key(
    phone, alice, live_server, mailoutbox
):
    page = phone
    cdp, authenticator = virtual_authenticator(page)
    log_in(page)
    page.wait_for_url(live_server.url + "/cabinet/")

    # The account page's two-factor section leads to the passkeys.
    page.goto("/cabinet/account/")
    expect(page.locator("#account-passkeys")).to_contain_text("none")
    page.click("#account-passkeys-add")
    expect(page.locator("#passkeys")).to_be_visible()
    fits(page)
    page.fill("#passkey-name", "Test phone")
    page.click("#passkey-add")
    # The first second factor: two-factor is on, and its recovery codes are shown once.
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    shoot(page, "passkey-recovery-codes")
    page.click("#codes-saved")
    expect(page.locator("#passkey-list")).to_contain_text("Test phone")
    expect(page.locator("#passkey-list")).to_contain_text("not used yet")
    fits(page)
    shoot(page, "passkey-list")
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    [credential] = stored["credentials"]
    assert credential["rpId"] == "localhost"
    assert WebAuthnCredential.objects.get().name == "Test phone"
    [mail] = [m for m in mailoutbox if m.to == ["alice@example.com"]]
    assert "Test phone" in mail.body and live_server.url in mail.body

    # Out, and in again: the password, then the passkey.
    page.click("nav form button")  # Log out: to the home page
    page.wait_for_url(live_server.url + "/")
    log_in(page)
    expect(page.locator("#passkey-use")).to_be_visible()
    assert "/two-factor/verify/" in page.url
    fits(page)
    shoot(page, "passkey-second-step")
    page.click("#passkey-use")
    page.wait_for_url(live_server.url + "/cabinet/")
    assert (
        credential["signCount"]
        < cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"][0][
            "signCount"
        ]
    )

    # Eleven minutes later, creating an API key asks again; the passkey answers.
    age_second_factor(page, 11)
    page.goto("/cabinet/api/")
    page.fill("input[name=name]", "accounting")
    page.click("#create-api-access")
    expect(page.locator("#step-up #passkey-use")).to_be_visible()
    assert not ApiKey.objects.exists()
    fits(page)
    page.click("#passkey-use")
    page.click("#resubmit-form button")
    expect(page.locator("#new-key")).to_be_visible()
    assert ApiKey.objects.get().name == "accounting"
    fits(page)

    # Out again, and in with the passkey alone: no e-mail, no password, no second step.
    page.click("nav form button")
    page.wait_for_url(live_server.url + "/")
    page.goto("/cabinet/login/?next=/cabinet/stats/")
    fits(page)
    page.click("#passkey-sign-in")
    page.wait_for_url(live_server.url + "/cabinet/stats/")

    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions.count(AuditAction.PASSKEY_USED) == 3
    assert actions.index(AuditAction.PASSKEY_ADDED) < actions.index(AuditAction.PASSKEY_USED)
    assert AuditAction.APIKEY_CREATED in actions


def test_passkey_forms_have_no_serious_accessibility_violation(
    browser, live_server, settings, alice
):
    """axe-core on the pages with passkey forms: the login page, the two-factor page with a
    passkey listed, the second step and the re-check, at 375 px."""
    settings.SITE_URL = live_server.url
    options, state = passkey_registration_options(user=alice.user)
    key = SoftAuthenticator(origin=live_server.url)
    passkey_add(
        user=alice.user,
        state=state,
        response=key.create(options),
        name="Laptop",
        manage_url=live_server.url,
    )
    # axe's script is injected inline: the page's Content-Security-Policy is bypassed for it.
    context = browser.new_context(
        base_url=live_server.url, bypass_csp=True, viewport={"width": 375, "height": 740}
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    found = violations(page, "/cabinet/login/")
    assert page.locator("#passkey-sign-in").is_visible()
    log_in(page)
    page.wait_for_url("**/two-factor/verify/**")
    found += violations(page)
    page.goto("/cabinet/account/two-factor/confirm/?next=/cabinet/api/")
    found += violations(page)
    age = SessionStore(
        session_key=next(
            c["value"]
            for c in context.cookies()
            if c["name"] == django_settings.SESSION_COOKIE_NAME
        )
    )
    age[SESSION_VERIFIED_AT] = int(time.time())
    age["otp_device_id"] = WebAuthnCredential.objects.get().persistent_id
    age.save()
    found += violations(page, "/cabinet/account/two-factor/")
    assert page.locator("#passkey-list").is_visible()
    context.close()
    assert not found, "\n".join(found)
