"""The operator's postback lists on a 1280 px screen, with long URLs and results: no sideways
scrolling of the page or of the list's table."""

from __future__ import annotations

import pytest
from django.utils import timezone

from obmin.lib.netguard import hosts_override
from obmin.postbacks.models import PostbackDelivery
from obmin.postbacks.services import postback_create
from obmin.testing.browser import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG = "https://tracker.test/postback/" + "p" * 60 + "?subid={sub1}&payout={reward}" + "&x=1" * 30


def test_postback_lists_fit_1280_px(page, carol, alice, live_server, tmp_path):
    with hosts_override({"tracker.test": ["93.184.216.34"]}):
        postback = postback_create(partner=alice, url=LONG, events=[
            "click", "exchange.created", "exchange.success", "reward.credited",
            "reward.reversed", "payout.paid"])
    for _ in range(3):
        PostbackDelivery.objects.create(
            partner=alice, postback=postback, event="reward.reversed", method="GET", url=LONG,
            give_up_at=timezone.now(), next_attempt_at=timezone.now(), attempts=12,
            last_result="tracker.test is refused: 127.0.0.1 is a loopback address." * 3)
    page.context.add_cookies([session_cookie(live_server.url, carol)])
    page.set_viewport_size({"width": 1280, "height": 900})
    for name in ("postbacks/postback", "postbacks/postbackdelivery"):
        page.goto(f"/admin/{name}/")
        page.screenshot(path=str(tmp_path / f"{name.replace('/', '-')}-1280.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280, name
        inner = page.evaluate("(() => { const r = document.querySelector('#changelist .results');"
                              " return r ? r.scrollWidth - r.clientWidth : 0; })()")
        assert inner <= 0, f"{name}'s table scrolls sideways by {inner} px"
