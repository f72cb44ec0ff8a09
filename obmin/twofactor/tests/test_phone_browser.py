"""The two-factor pages on a 375 px phone: the set-up with its QR code and key, the recovery
codes, the second step and the re-check fit the screen, under the site's CSP (no inline
script)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from obmin.cabinet.tests.test_phone_browser import PHONE, assert_fits
from obmin.testing.factories import PASSWORD
from obmin.twofactor.tests.test_sign_in import app_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_two_factor_pages_fit_a_phone(browser, live_server, alice, tmp_path):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto("/cabinet/login/")
    page.fill("input[name=username]", "alice@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/cabinet/")
    assert_fits(page, "/cabinet/account/", tmp_path)
    assert_fits(page, "/cabinet/account/two-factor/", tmp_path)
    page.click("#twofactor-start")
    expect(page.locator("#totp-qr svg")).to_be_visible()
    assert_fits(page, "/cabinet/account/two-factor/app/", tmp_path)
    secret = page.locator("#totp-secret").inner_text()
    page.fill("#totp-confirm input[name=code]", app_code(secret))
    page.click("#totp-confirm [type=submit]")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    assert_fits(page, "/cabinet/account/two-factor/confirm/?next=/cabinet/", tmp_path)
    page.goto("/cabinet/account/")
    page.click("nav.tabs button:has-text('Log out')")
    page.wait_for_load_state()
    page.goto("/cabinet/login/")
    page.fill("input[name=username]", "alice@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("[type=submit]")
    expect(page.locator("#second-step")).to_be_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    assert violations == []
    context.close()
