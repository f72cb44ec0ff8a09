"""Sending postbacks to live receivers: signatures, retries with backoff, giving up, refusals
at delivery, redirects, and receivers that hang. The worker's threads use their own database
connections, hence transactional tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from obmin.lib import metrics
from obmin.lib.netguard import hosts_override
from obmin.postbacks.delivery import (
    LONGEST_WAIT,
    backoff,
    postbacks_dispatch,
    postbacks_send_now,
    postbacks_wait,
)
from obmin.postbacks.models import DeliveryStatus, Event, PostbackDelivery
from obmin.postbacks.payloads import Payload, _macros
from obmin.postbacks.services import (
    RETRY_WINDOW,
    postback_create,
    postback_events_queue,
    postback_secret,
)

pytestmark = pytest.mark.django_db(transaction=True)


def queue_event(partner, url: str, method: str = "POST") -> PostbackDelivery:
    postback = postback_create(partner=partner, url=url, method=method,
                               events=[Event.EXCHANGE_SUCCESS])
    macros = _macros(Event.EXCHANGE_SUCCESS, 1764300000, exchange_id=7, status="success",
                     reward=Decimal("1.50"), sub1="fb ads/1&x=2")
    data = {"id": 7, "time": 1764300000, "amount_give": Decimal("100.50"),
            "course_give": Decimal("0.00000123"), "sub1": "fb ads/1&x=2", "status": "success"}
    postback_events_queue([Payload(Event.EXCHANGE_SUCCESS, partner.pk, 1764300000, macros,
                                   data)])
    return PostbackDelivery.objects.get(postback=postback)


def signature_checks(secret: str, headers: dict[str, str], signed: bytes) -> bool:
    """The receiver's checks: the contract's `sha256=<hex of the body>` and the timed
    `t=<unix>,v1=<hex>` (README, *Postbacks*)."""
    body_hex = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if headers["X-Obmin-Signature"] != f"sha256={body_hex}":
        return False
    parts = dict(item.split("=", 1) for item in headers["X-Obmin-Signature-V2"].split(","))
    message = f"{parts['t']}.{headers['X-Obmin-Delivery']}.".encode() + signed
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return abs(time.time() - int(parts["t"])) <= 300 and hmac.compare_digest(expected,
                                                                              parts["v1"])


def test_post_is_signed_json(alice, allow_private, receiver):
    delivery = queue_event(alice, f"{receiver.url}/in")
    postbacks_send_now()
    (request,) = receiver.requests
    assert request.method == "POST" and request.path == "/in"
    assert request.headers["X-Obmin-Event"] == "exchange.success"
    assert request.headers["X-Obmin-Delivery"] == str(delivery.uid)
    secret = postback_secret(partner=alice)
    assert signature_checks(secret, request.headers, request.body)
    body = json.loads(request.body, parse_float=Decimal)
    assert body == {"event": "exchange.success", "time": 1764300000, "data": {
        "id": 7, "time": 1764300000, "amount_give": Decimal("100.5"),
        "course_give": Decimal("0.00000123"), "sub1": "fb ads/1&x=2", "status": "success"}}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)


def test_get_signs_the_full_url_with_macros_url_encoded(alice, allow_private, receiver):
    template = (f"{receiver.url}/pb?subid={{sub1}}&payout={{reward}}&status={{status}}"
                f"&e={{event}}&id={{exchange_id}}&keep={{unknown}}")
    delivery = queue_event(alice, template, method="GET")
    postbacks_send_now()
    (request,) = receiver.requests
    assert request.method == "GET"
    assert request.path == ("/pb?subid=fb%20ads%2F1%26x%3D2&payout=1.5&status=success"
                            "&e=exchange.success&id=7&keep={unknown}")
    full_url = f"{receiver.url}{request.path}"
    assert delivery.url == full_url
    assert signature_checks(postback_secret(partner=alice), request.headers, full_url.encode())


def test_failures_are_retried_with_backoff_then_delivered_with_the_same_id(alice, allow_private,
                                                                          receiver):
    receiver.statuses = [500, 503, 200]
    delivery = queue_event(alice, f"{receiver.url}/in")
    postbacks_send_now()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    first_retry = delivery.next_attempt_at
    assert first_retry - timezone.now() > timedelta(seconds=50)

    postbacks_send_now()  # not due yet: nothing is sent
    assert len(receiver.requests) == 1

    postbacks_send_now(now=first_retry)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 2)
    assert delivery.next_attempt_at == first_retry + timedelta(minutes=2)

    postbacks_send_now(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 3)

    assert len({r.headers["X-Obmin-Delivery"] for r in receiver.requests}) == 1
    assert {r.headers["X-Obmin-Delivery"] for r in receiver.requests} == {str(delivery.uid)}
    assert len({r.body for r in receiver.requests}) == 1
    secret = postback_secret(partner=alice)
    assert all(signature_checks(secret, r.headers, r.body) for r in receiver.requests)
    log = list(delivery.attempt_log.order_by("id"))
    assert [a.status_code for a in log] == [500, 503, 200]
    assert log[0].answer.startswith("answer 1: 500") and len(log[0].answer) == 500


def test_backoff_keeps_retrying_for_at_least_a_day():
    waits = [backoff(n) for n in range(1, 40)]
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert max(waits) == LONGEST_WAIT
    assert timedelta(hours=24) <= RETRY_WINDOW


def test_gives_up_after_the_retry_window(alice, allow_private, receiver):
    receiver.statuses = [500]
    delivery = queue_event(alice, f"{receiver.url}/in")
    almost = delivery.give_up_at - timedelta(minutes=1)
    postbacks_send_now(now=almost)
    delivery.refresh_from_db()
    # The last attempt is made when the window closes, not skipped past it.
    assert (delivery.status, delivery.next_attempt_at) == (DeliveryStatus.PENDING,
                                                           delivery.give_up_at)
    postbacks_send_now(now=delivery.give_up_at)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)
    assert delivery.next_attempt_at is None
    assert metrics.totals()[("obmin_postback_deliveries", (("outcome", "failed"),))] >= 1


def test_name_resolving_to_loopback_at_delivery_is_refused(alice, settings, receiver):
    settings.POSTBACK_ALLOW_PRIVATE = False
    with hosts_override({"tracker.test": ["93.184.216.34"]}):
        delivery = queue_event(alice, f"http://tracker.test:{receiver.port}/in")
    with hosts_override({"tracker.test": ["127.0.0.1"]}):
        postbacks_send_now()
    assert receiver.requests == []
    delivery.refresh_from_db()
    (attempt,) = delivery.attempt_log.all()
    assert attempt.status_code is None and "loopback" in attempt.error
    assert delivery.status == DeliveryStatus.PENDING  # retried: DNS may be fixed


def test_redirect_is_not_followed(alice, allow_private, receiver):
    receiver.statuses = [302]
    delivery = queue_event(alice, f"{receiver.url}/in")
    postbacks_send_now()
    assert [r.path for r in receiver.requests] == ["/in"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempt_log.get().status_code == 302


class HangingReceiver:
    """Accepts connections and never answers until released (then hangs up)."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.release = threading.Event()
        self.accepted = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _address = self.listener.accept()
        except OSError:
            return
        self.accepted.set()
        self.release.wait(60)
        conn.close()

    def close(self) -> None:
        self.release.set()
        self.listener.close()
        self.thread.join(5)


@pytest.fixture
def hanging():
    receiver = HangingReceiver()
    yield receiver
    receiver.close()


def test_hanging_receiver_times_out(alice, allow_private, hanging):
    delivery = queue_event(alice, f"http://127.0.0.1:{hanging.port}/in")
    postbacks_send_now(timeout=0.5)
    delivery.refresh_from_db()
    (attempt,) = delivery.attempt_log.all()
    assert attempt.status_code is None and "No answer within 0.5 s" in attempt.error
    assert delivery.status == DeliveryStatus.PENDING and delivery.claimed_until is None


def test_hanging_receiver_does_not_hold_up_other_deliveries(alice, bob, allow_private, hanging,
                                                            receiver):
    stuck = queue_event(alice, f"http://127.0.0.1:{hanging.port}/in")
    fine = queue_event(bob, f"{receiver.url}/in")
    # Hands both to the sending threads and returns while the first still hangs.
    assert postbacks_dispatch(timeout=60) == 2
    assert hanging.accepted.wait(10) and receiver.got.wait(10)
    for _ in range(200):
        fine.refresh_from_db()
        if fine.status == DeliveryStatus.DELIVERED:
            break
        time.sleep(0.05)
    assert fine.status == DeliveryStatus.DELIVERED
    stuck.refresh_from_db()
    assert (stuck.status, stuck.attempts) == (DeliveryStatus.PENDING, 0)  # still in flight
    assert stuck.claimed_until is not None
    assert postbacks_dispatch(timeout=60) == 0  # in flight: not claimed twice

    hanging.release.set()
    postbacks_wait(10)
    stuck.refresh_from_db()
    assert stuck.attempts == 1 and stuck.attempt_log.get().status_code is None


def test_worker_burst_sends_an_exchanges_postbacks(alice, pm_btc, program, allow_private,
                                                   receiver):
    """End to end: an exchange succeeds, `obmin worker --burst` calls the partner's URLs."""
    from django.core.management import call_command

    from obmin.exchange.services import exchange_create, exchange_set_status

    postback_create(partner=alice, url=f"{receiver.url}/pb?e={{event}}&r={{reward}}",
                    events=["exchange.success", "reward.credited"])
    exchange = exchange_create(direction=pm_btc, amount_give=Decimal(1000),
                               email="c@example.org", account_get="bc1q", partner_id=alice.pk)
    exchange_set_status(exchange_id=exchange.pk, status="success")
    assert receiver.requests == []  # queued, not sent by the request that caused it
    call_command("worker", "--burst")
    exchange.refresh_from_db()
    assert sorted(r.path for r in receiver.requests) == sorted([
        f"/pb?e=exchange.success&r={exchange.partner_reward.normalize():f}",
        f"/pb?e=reward.credited&r={exchange.partner_reward.normalize():f}"])
    assert set(PostbackDelivery.objects.values_list("status", flat=True)) == {"delivered"}
