"""A partner in a real browser logs in with e-mail and finds the partnership link."""

from __future__ import annotations

import pytest

from obmin.testing.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_partner_logs_in_and_sees_link_and_chart(page, alice, live_server):
    page.goto("/cabinet/")
    page.fill("input[name=username]", "alice@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/cabinet/")
    assert page.locator("#partnership-link").inner_text().endswith("/ref/alice001/")
    # Chart.js drew on the canvas (a blank canvas has no chart instance).
    assert page.evaluate("() => !!Chart.getChart(document.getElementById('daily-chart'))")
