"""Two workers' rounds of the same duty at the same moment (threads with connections of their
own, on PostgreSQL's row locks): each postback and each bid callback is sent once, and clicks
are rolled up once. test_two_workers.py does clicks, holds and e-mails with real processes;
rates.tests.test_sync the rate sources."""

from __future__ import annotations

import collections
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.utils import timezone

from obmin.exchange.services import exchange_create
from obmin.partner_api.models import ApiBid, BidCallback
from obmin.partner_api.services import apikey_create
from obmin.partner_api.v1.bids import bid_callbacks_deliver
from obmin.partners.models import Click
from obmin.postbacks.delivery import deliveries_claim, delivery_attempt
from obmin.postbacks.models import DeliveryStatus, Event, Postback, PostbackDelivery
from obmin.stats.models import ClickRollup
from obmin.stats.services import clicks_roll_up

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="two workers share a PostgreSQL database (set DATABASE_URL)"),
]


def at_once(duty: Callable[[], object], workers: int = 2) -> None:
    """`duty` run by `workers` threads released together, each until it finds nothing."""
    start, failures = threading.Barrier(workers), []

    def worker() -> None:
        try:
            start.wait(timeout=10)
            while duty():
                pass
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []


@pytest.fixture
def receiver(settings) -> Iterator[tuple[str, collections.Counter[str]]]:
    """A receiver answering 200, counting each request by its path and query."""
    settings.POSTBACK_ALLOW_PRIVATE = True
    seen: collections.Counter[str] = collections.Counter()

    class Answer(BaseHTTPRequestHandler):
        def answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            seen[self.path + "|" + str(sorted(urllib.parse.parse_qsl(body)))] += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_each_postback_is_sent_once(alice, bob, receiver):
    url, seen = receiver
    now = timezone.now() - timedelta(seconds=1)
    for partner in (alice, bob):
        postback = Postback.objects.create(partner=partner, url=url, method="GET",
                                           events=[Event.CLICK])
        PostbackDelivery.objects.bulk_create([
            PostbackDelivery(partner=partner, postback=postback, event=Event.CLICK,
                             method="GET", url=f"{url}/pb?partner={partner.pk}&n={n}",
                             created_at=now, next_attempt_at=now,
                             give_up_at=now + timedelta(hours=1)) for n in range(40)])

    def round_of_a_worker() -> int:
        claimed = deliveries_claim(limit=8, lease=40)
        for delivery_id, _partner in claimed:
            delivery_attempt(delivery_id)
        return len(claimed)

    at_once(round_of_a_worker)
    assert len(seen) == 80 and set(seen.values()) == {1}
    assert set(PostbackDelivery.objects.values_list("status", "attempts")) == {
        (DeliveryStatus.DELIVERED, 1)}


def test_each_bid_callback_is_sent_once(alice, pm_btc, receiver):
    url, seen = receiver
    key, _raw = apikey_create(partner=alice, name="bot")
    now = timezone.now() - timedelta(seconds=1)
    for n in range(20):
        exchange = exchange_create(direction=pm_btc, amount_give=Decimal(100),
                                   email=f"c{n}@example.org", account_get="bc1q")
        bid = ApiBid.objects.create(exchange=exchange, api_key=key,
                                    callback_url=f"{url}/hook?bid={n}")
        BidCallback.objects.bulk_create([
            BidCallback(bid=bid, status=status, body=f"id={n}&status={status}",
                        next_attempt_at=now) for status in ("new", "payed")])
    at_once(bid_callbacks_deliver)
    assert len(seen) == 40 and set(seen.values()) == {1}
    assert set(BidCallback.objects.values_list("attempts", "last_error")) == {(1, "")}


def test_clicks_are_rolled_up_once(alice, bob):
    moment = timezone.now() - timedelta(hours=2)
    Click.objects.bulk_create([Click(partner=partner, user_hash=f"{n:016x}", created_at=moment,
                                     ip="203.0.113.0")
                               for partner in (alice, bob) for n in range(300)])
    at_once(lambda: clicks_roll_up(settle=False))
    totals = {(row.partner_id, row.dimension): row.clicks
              for row in ClickRollup.objects.filter(hour__lte=moment)}
    assert totals and set(totals.values()) == {300}
