"""Issue 28.1 for API v1's bid callbacks: a callback that raises is that callback's failed
attempt (the round goes on), callback URLs are stored normalised, and one key's callbacks to a
receiver that hangs do not hold up another key's."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.utils import timezone

from obmin.exchange.services import exchange_create
from obmin.lib.netguard import hosts_override
from obmin.partner_api.models import ApiBid, BidCallback
from obmin.partner_api.services import apikey_create
from obmin.partner_api.tests.test_v1_callbacks import Receiver
from obmin.partner_api.v1.bids import bid_callbacks_deliver
from obmin.postbacks.tests.test_delivery import HangingReceiver

pytestmark = pytest.mark.django_db


def callbacks(partner, pm_btc, url: str, count: int) -> list[BidCallback]:
    key, _raw = apikey_create(partner=partner)
    made = []
    for _ in range(count):
        exchange = exchange_create(direction=pm_btc, amount_give=Decimal(100),
                                   email="c@example.org", account_get="anything")
        bid = ApiBid.objects.create(exchange=exchange, api_key=key, callback_url=url)
        made.append(BidCallback.objects.create(bid=bid, status="paid", body="id=1",
                                               next_attempt_at=timezone.now()))
    return made


@pytest.fixture
def receiver(settings):
    settings.POSTBACK_ALLOW_PRIVATE = True
    made = Receiver([200])
    yield made
    made.close()


def test_a_callback_that_raises_does_not_abort_the_round(alice, bob, pm_btc, receiver):
    (poisoned,) = callbacks(bob, pm_btc, receiver.url.replace("/hook", "/é"), 1)
    (fine,) = callbacks(alice, pm_btc, receiver.url, 1)
    assert bid_callbacks_deliver() == 2
    poisoned.refresh_from_db()
    fine.refresh_from_db()
    assert poisoned.attempts == 1 and poisoned.last_error and poisoned.delivered_at is None
    assert poisoned.next_attempt_at > timezone.now()
    assert fine.delivered_at is not None


def test_one_keys_hanging_callbacks_do_not_hold_up_anothers(alice, bob, pm_btc, receiver):
    hanging = HangingReceiver()
    try:
        callbacks(bob, pm_btc, f"http://127.0.0.1:{hanging.port}/slow", 30)
        (fine,) = callbacks(alice, pm_btc, receiver.url, 1)
        started = time.monotonic()
        bid_callbacks_deliver()
        fine.refresh_from_db()
        assert fine.delivered_at is not None
        assert time.monotonic() - started < 8  # one round: the slow one's timeout at most
    finally:
        hanging.release.set()
        hanging.close()


def test_create_bid_stores_the_callback_url_normalised(alice, pm_btc, client):
    key, raw = apikey_create(partner=alice)
    with hosts_override({"xn--bcher-kva.test": ["93.184.216.34"]}):
        response = client.post("/api/userapi/v1/create_bid", {
            "direction_id": pm_btc.pk, "calc_amount": "100", "cf6": "c@example.org",
            "account2": "anything", "callback_url": "https://Bücher.test/hook?x=é"},
            headers={"API-LOGIN": key.login, "API-KEY": raw})
    assert response.json()["error"] == "0", response.json()  # create_bid: Premium's string
    assert ApiBid.objects.get().callback_url == "https://xn--bcher-kva.test/hook?x=%C3%A9"
