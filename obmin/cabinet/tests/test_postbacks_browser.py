"""The Postbacks page on a 375 px phone, full of the longest things it shows (a long URL
template, a delivery with a long answer): the page never scrolls sideways. And the "send a test
event" button, clicked, puts the test delivery in the log."""

from __future__ import annotations

import pytest
from django.utils import timezone

from obmin.lib.netguard import hosts_override
from obmin.postbacks.models import PostbackAttempt, PostbackDelivery
from obmin.postbacks.services import postback_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG = ("https://tracker.test/postback/with/a/rather/long/path?subid={sub1}&sub2={sub2}"
        "&sub3={sub3}&payout={reward}&currency={currency}&status={status}&txid={exchange_id}"
        "&token=" + "q" * 80)


def test_postbacks_page_fits_a_phone_and_sends_a_test_event(page, alice, tmp_path):
    alice.user.set_password("alice-pass-2026")
    alice.user.save()
    with hosts_override({"tracker.test": ["93.184.216.34"]}):
        postback = postback_create(partner=alice, url=LONG, method="GET",
                                   events=["click", "exchange.success", "reward.credited"])
    delivery = PostbackDelivery.objects.create(
        partner=alice, postback=postback, event="exchange.success", method="GET", url=LONG,
        give_up_at=timezone.now(), attempts=1, last_result="HTTP 500")
    PostbackAttempt.objects.create(delivery=delivery, status_code=500,
                                   answer="<html>" + "e" * 494, duration_ms=12)

    page.set_viewport_size({"width": 375, "height": 812})
    page.goto("/cabinet/login/")
    page.fill("input[name=username]", "alice@example.com")
    page.fill("input[name=password]", "alice-pass-2026")
    page.click("main button[type=submit]")
    page.wait_for_url("**/cabinet/")
    page.goto("/cabinet/postbacks/")
    page.click(f"#delivery-{delivery.pk} summary")  # the attempts, opened
    page.screenshot(path=str(tmp_path / "postbacks-375.png"), full_page=True)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375

    page.click(f"#postback-{postback.pk} button:has-text('Send a test event')")
    page.wait_for_load_state("load")
    test = PostbackDelivery.objects.get(is_test=True)
    assert page.locator(f"#delivery-{test.pk}").is_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
