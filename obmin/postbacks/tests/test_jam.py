"""Issue 28.1, 28.10, 28.11: one partner's postbacks cannot stop another's. A delivery that
raises anything is that delivery's failed attempt; URLs are normalised (IDNA host,
percent-encoded path and query) when saved; each partner gets its share of the sending threads
and may queue only so much; the signature covers a timestamp and the delivery id; host names
are resolved with a timeout and saves are rate-limited."""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from obmin.lib import netguard
from obmin.postbacks.delivery import postbacks_dispatch, postbacks_send_now, postbacks_wait
from obmin.postbacks.models import DeliveryStatus, Event, Postback, PostbackDelivery
from obmin.postbacks.payloads import Payload, _macros
from obmin.postbacks.services import (
    PostbackError,
    postback_create,
    postback_events_queue,
    postback_secret,
    postback_send_test,
    postback_update,
)
from obmin.postbacks.tests.conftest import PUBLIC
from obmin.postbacks.tests.test_delivery import HangingReceiver, queue_event

pytestmark = pytest.mark.django_db(transaction=True)


def poisoned(partner, url: str, *, count: int = 1) -> list[PostbackDelivery]:
    """Deliveries stored as an older version would have stored them (no check at save)."""
    postback = Postback.objects.create(partner=partner, url=url, method="GET",
                                       events=[Event.EXCHANGE_SUCCESS])
    now = timezone.now() - timedelta(minutes=1)
    return PostbackDelivery.objects.bulk_create([
        PostbackDelivery(partner=partner, postback=postback, event=Event.EXCHANGE_SUCCESS,
                         method="GET", url=url, created_at=now, next_attempt_at=now,
                         give_up_at=now + timedelta(hours=24)) for _ in range(count)])


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/é?s=1", "http://127.0.0.1:{port}/\u202e",
                                 "http://[::1/x", "http://bad host:{port}/", "http://127.0.0.1:99999/"])
def test_a_delivery_that_raises_is_a_failed_attempt(alice, allow_private, receiver, url):
    (delivery,) = poisoned(alice, url.format(port=receiver.port))
    postbacks_send_now()
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.claimed_until is None
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=30)
    (attempt,) = delivery.attempt_log.all()
    assert attempt.status_code is None and attempt.error
    # ...and at the end of the window it fails, like any other.
    postbacks_send_now(now=delivery.give_up_at)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)


@pytest.mark.parametrize(("typed", "stored"), [
    ("http://tracker.test/é?s={sub1}&q=ü", "http://tracker.test/%C3%A9?s={sub1}&q=%C3%BC"),
    ("http://Bücher.test/a b/?x=1 2#frag", "http://xn--bcher-kva.test/a%20b/?x=1%202"),
    ("https://tracker.test/p%20q?x=%C3%A9", "https://tracker.test/p%20q?x=%C3%A9"),
])
def test_urls_are_normalised_when_saved(alice, typed, stored):
    with netguard.hosts_override({"tracker.test": [PUBLIC], "xn--bcher-kva.test": [PUBLIC]}):
        postback = postback_create(partner=alice, url=typed, events=[Event.CLICK])
        assert postback.url == stored
        postback = postback_update(partner=alice, postback_id=postback.pk, url=typed,
                                   method="GET", events=[Event.CLICK])
        assert postback.url == stored


@pytest.mark.parametrize("url", ["http://tracker.test/\u202eevil", "http://tracker.test/\x1b[31m",
                                 "http://exa\u200bmple.test/", "http://" + "a" * 64 + ".test/"])
def test_urls_that_cannot_be_normalised_are_refused(alice, tracker_public, url):
    with pytest.raises(PostbackError) as refused:
        postback_create(partner=alice, url=url, events=[Event.CLICK])
    assert refused.value.field == "url"
    assert not Postback.objects.exists()


def test_the_command_stores_the_normalised_url(alice, tracker_public, capsys):
    call_command("postback", "add", alice.email, "http://tracker.test/é?s={sub1}")
    assert Postback.objects.get().url == "http://tracker.test/%C3%A9?s={sub1}"


def payload_for(partner) -> Payload:
    return Payload(Event.CLICK, partner.pk, 1764300000, _macros(Event.CLICK, 1764300000), {})


def test_a_partner_cannot_queue_beyond_the_cap(alice, bob, tracker_public, settings):
    settings.POSTBACK_MAX_PENDING = 3
    postback_create(partner=alice, url="http://tracker.test/a", events=[Event.CLICK])
    postback_create(partner=bob, url="http://tracker.test/b", events=[Event.CLICK])
    postback_events_queue([payload_for(alice) for _ in range(5)] + [payload_for(bob)])
    alice_rows = PostbackDelivery.objects.filter(partner=alice)
    assert alice_rows.filter(status=DeliveryStatus.PENDING).count() == 3
    refused = alice_rows.filter(status=DeliveryStatus.FAILED)
    assert refused.count() == 2
    assert all("3" in row.last_result for row in refused)
    assert PostbackDelivery.objects.get(partner=bob).status == DeliveryStatus.PENDING


def test_a_jammed_partner_does_not_delay_another(alice, bob, allow_private, receiver):
    """The worker test of issue 28: bob has hundreds of postbacks queued to a receiver that
    never answers and to URLs that raise; alice's delivery, queued after all of them, goes
    out within a few seconds."""
    hanging = HangingReceiver()
    try:
        poisoned(bob, f"http://127.0.0.1:{hanging.port}/slow", count=300)
        poisoned(bob, f"http://127.0.0.1:{receiver.port}/é", count=100)
        fine = queue_event(alice, f"{receiver.url}/in")
        started = time.monotonic()
        while time.monotonic() - started < 8:
            postbacks_dispatch(timeout=3)  # the worker's duty, every round
            fine.refresh_from_db()
            if fine.status == DeliveryStatus.DELIVERED:
                break
            time.sleep(0.1)
        waited = time.monotonic() - started
        assert fine.status == DeliveryStatus.DELIVERED, "alice's postback waited behind bob's"
        assert waited < 3
    finally:
        hanging.close()
        postbacks_wait(15)


def _check(secret: str, headers: dict[str, str], signed_body: bytes, *, now: int,
           tolerance: int = 300) -> bool:
    """The receiver's check, as the documentation gives it."""
    parts = dict(item.split("=", 1) for item in headers["X-Obmin-Signature-V2"].split(","))
    t = int(parts["t"])
    if abs(now - t) > tolerance:
        return False
    signed = f"{t}.{headers['X-Obmin-Delivery']}.".encode() + signed_body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def test_the_signature_covers_the_time_and_the_delivery_id(alice, allow_private, receiver):
    delivery = queue_event(alice, f"{receiver.url}/in")
    postbacks_send_now()
    (request,) = receiver.requests
    secret = postback_secret(partner=alice)
    now = int(time.time())
    assert request.headers["X-Obmin-Delivery"] == str(delivery.uid)
    assert _check(secret, request.headers, request.body, now=now)
    # Replayed later than the tolerance: refused.
    assert not _check(secret, request.headers, request.body, now=now + 301)
    # Another delivery id with the same body and time: refused.
    forged = {**request.headers, "X-Obmin-Delivery": "0" * 32}
    assert not _check(secret, forged, request.body, now=now)


def test_a_test_event_cannot_pass_as_a_real_one(alice, allow_private, receiver):
    postback = postback_create(partner=alice, url=f"{receiver.url}/pb?s={{sub1}}",
                               events=[Event.EXCHANGE_SUCCESS])
    postback_send_test(partner=alice, postback_id=postback.pk)
    postbacks_send_now()
    (request,) = receiver.requests
    delivery_id = request.headers["X-Obmin-Delivery"]
    # The test mark is part of what is signed: a replay without X-Obmin-Test still says so.
    assert delivery_id.startswith("test-")
    full_url = f"{receiver.url}{request.path}".encode()
    assert _check(postback_secret(partner=alice), request.headers, full_url,
                  now=int(time.time()))


def test_names_are_resolved_within_a_timeout(monkeypatch, settings):
    settings.POSTBACK_ALLOW_PRIVATE = False
    release = threading.Event()

    def slow_dns(*args, **kwargs):  # a resolver that never answers in time
        release.wait(10)
        raise socket.gaierror("too late")

    monkeypatch.setattr(netguard, "RESOLVE_TIMEOUT", 0.3)
    monkeypatch.setattr(socket, "getaddrinfo", slow_dns)
    started = time.monotonic()
    refusal = netguard.url_refusal("http://slow.example/")
    release.set()
    assert time.monotonic() - started < 2
    assert refusal is not None and "slow.example" in refusal


def test_saving_postbacks_is_rate_limited(alice, tracker_public, settings):
    settings.POSTBACK_SAVE_RATE = "3/m"
    postback = postback_create(partner=alice, url="http://tracker.test/1", events=[Event.CLICK])
    postback_update(partner=alice, postback_id=postback.pk, url="http://tracker.test/2",
                    method="GET", events=[Event.CLICK])
    postback_send_test(partner=alice, postback_id=postback.pk)
    with pytest.raises(PostbackError, match="Too many"):
        postback_create(partner=alice, url="http://tracker.test/3", events=[Event.CLICK])
    assert Postback.objects.count() == 1


def test_names_that_never_resolve_do_not_jam_another_partners_lookups(
        alice, bob, allow_private, receiver, monkeypatch):
    """A partner whose host names' own name server never answers holds a resolver thread
    for each look-up still hanging; it may hold only a few, so another partner's names still
    resolve and its delivery goes out."""
    release = threading.Event()
    real = netguard._getaddrinfo

    def resolver(host: str, port: int) -> list[str]:
        if host.endswith(".hang.test"):
            release.wait(30)
            raise socket.gaierror("too late")
        return real("127.0.0.1" if host == "alice.test" else host, port)

    monkeypatch.setattr(netguard, "_getaddrinfo", resolver)
    monkeypatch.setattr(netguard, "RESOLVE_TIMEOUT", 0.5)
    try:
        for n in range(5):  # bob's five postbacks, each at a name of his that never resolves
            poisoned(bob, f"http://h{n}.hang.test/x", count=60)
        started = time.monotonic()
        while time.monotonic() - started < 4:  # the worker's rounds meanwhile
            postbacks_dispatch(timeout=1)
            time.sleep(0.1)
        fine = queue_event(alice, f"http://alice.test:{receiver.port}/in")
        started = time.monotonic()
        while time.monotonic() - started < 5:
            postbacks_dispatch(timeout=1)
            fine.refresh_from_db()
            if fine.status == DeliveryStatus.DELIVERED:
                break
            time.sleep(0.1)
        assert fine.status == DeliveryStatus.DELIVERED, fine.last_result
    finally:
        release.set()
        postbacks_wait(15)
