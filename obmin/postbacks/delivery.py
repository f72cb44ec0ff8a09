"""Sending queued postbacks, by `obmin worker` (duty "send due postbacks").

Each round claims the deliveries that are due (a lease in `claimed_until`, so two workers never
send one at once) and hands them to a small pool of threads, without waiting: a receiver that
is slow or never answers holds one thread for at most `TIMEOUT_SECONDS` (netguard bounds the
whole attempt) and never the worker's other duties; at most `THREADS` are in flight per
worker. A 2xx answer is delivered; anything else is retried with exponential backoff (1 min,
2, 4... at most 4 h apart) until `give_up_at` (24 h after the event), the last attempt made
then, after which the delivery has failed. Every attempt is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from obmin.lib import metrics, netguard
from obmin.postbacks.models import (
    ANSWER_BYTES,
    DeliveryStatus,
    Method,
    PostbackAttempt,
    PostbackDelivery,
    PostbackSecret,
)

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
THREADS = 8
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=4)

_pool: ThreadPoolExecutor | None = None
_in_flight: dict[int, Future[None]] = {}
_lock = threading.Lock()


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 1 min, 2, 4, 8... at most 4 h."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def signature(secret: str, signed: bytes) -> str:
    """`sha256=<hex HMAC-SHA256>` of the raw body (POST) or the full URL (GET)."""
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def request_of(delivery: PostbackDelivery, secret: str) -> tuple[bytes | None, dict[str, str]]:
    """The body and headers this delivery is sent with (the same on every attempt)."""
    body = delivery.body.encode() if delivery.method == Method.POST else None
    headers = {
        "X-Obmin-Event": delivery.event,
        "X-Obmin-Delivery": str(delivery.uid),
        "X-Obmin-Signature": signature(secret, body if body is not None
                                       else delivery.url.encode()),
    }
    if body is not None:
        headers["Content-Type"] = "application/json; charset=utf-8"
    if delivery.is_test:
        headers["X-Obmin-Test"] = "1"
    return body, headers


def deliveries_claim(*, limit: int, lease: float, now: datetime | None = None) -> list[int]:
    """Ids of up to `limit` due deliveries, now held by this worker for `lease` seconds."""
    now = now or timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=timezone.now())
    with transaction.atomic():
        due = (PostbackDelivery.objects
               .filter(free, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
               .order_by("next_attempt_at").select_for_update(skip_locked=True)
               .values_list("id", flat=True)[:limit])
        ids = list(due)
        if ids:
            PostbackDelivery.objects.filter(free, id__in=ids).update(
                claimed_until=timezone.now() + timedelta(seconds=lease))
    return ids


def delivery_attempt(delivery_id: int, *, timeout: float = TIMEOUT_SECONDS,
                     now: datetime | None = None) -> PostbackAttempt | None:
    """One attempt of a claimed delivery: send, log, then delivered, retried later, or failed.

    `now` is when the attempt counts as made for the retry schedule (tests move it on).
    """
    delivery = PostbackDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    secret = (PostbackSecret.objects.filter(partner_id=delivery.partner_id)
              .values_list("secret", flat=True).first() or "")
    body, headers = request_of(delivery, secret)
    started = time.monotonic()
    status_code: int | None = None
    answer = error = ""
    try:
        reply = netguard.send(delivery.method, delivery.url, body=body, headers=headers,
                              timeout=timeout)
        status_code, answer = reply.status, reply.text[:ANSWER_BYTES]
    except netguard.SendFailed as failure:
        error = failure.reason[:255]
    duration_ms = int((time.monotonic() - started) * 1000)
    now = now or timezone.now()
    attempt = PostbackAttempt(delivery=delivery, status_code=status_code, answer=answer,
                              error=error, duration_ms=duration_ms)
    delivery.attempts += 1
    delivery.claimed_until = None
    delivery.last_result = (f"HTTP {status_code}" if status_code is not None else error)[:255]
    outcome: str
    if status_code is not None and 200 <= status_code < 300:
        outcome = delivery.status = DeliveryStatus.DELIVERED
        delivery.next_attempt_at = None
        delivery.finished_at = now
    elif now >= delivery.give_up_at:
        outcome = delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        delivery.finished_at = now
    else:
        outcome = "retry"
        delivery.next_attempt_at = min(now + backoff(delivery.attempts), delivery.give_up_at)
    with transaction.atomic():
        attempt.save()
        # Only over the state this attempt started from: if this worker stalled past its lease
        # and another attempt was recorded meanwhile, that one's outcome stands.
        recorded = PostbackDelivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.PENDING, attempts=delivery.attempts - 1,
        ).update(attempts=delivery.attempts, claimed_until=None,
                 last_result=delivery.last_result, status=delivery.status,
                 next_attempt_at=delivery.next_attempt_at, finished_at=delivery.finished_at)
    if not recorded:
        logger.warning("postback delivery %s: another attempt was recorded meanwhile",
                       delivery.pk)
    metrics.count("obmin_postback_deliveries", outcome=outcome)
    return attempt


def _run(delivery_id: int, timeout: float, now: datetime | None) -> None:
    try:
        delivery_attempt(delivery_id, timeout=timeout, now=now)
    except Exception:
        logger.exception("postback delivery %s: the attempt could not be recorded", delivery_id)
    finally:
        connection.close()  # this thread's own connection
        with _lock:
            _in_flight.pop(delivery_id, None)


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="postback")
    return _pool


def postbacks_dispatch(*, timeout: float = TIMEOUT_SECONDS, now: datetime | None = None) -> int:
    """The worker's duty: hands due deliveries to the sending threads and returns at once
    (how many it handed over). Never more than `THREADS` in flight in this process."""
    with _lock:
        room = THREADS - len(_in_flight)
    if room <= 0:
        return 0
    # The lease outlasts the attempt, so no other worker takes it while this one still may.
    ids = deliveries_claim(limit=room, lease=timeout * 2 + 30, now=now)
    pool = _executor()
    with _lock:
        for delivery_id in ids:
            _in_flight[delivery_id] = pool.submit(_run, delivery_id, timeout, now)
    return len(ids)


def postbacks_wait(timeout: float | None = None) -> None:
    """Waits until the attempts in flight have been made and logged (`--burst`, tests)."""
    with _lock:
        futures = list(_in_flight.values())
    wait(futures, timeout=timeout)


def postbacks_send_now(*, timeout: float = TIMEOUT_SECONDS, now: datetime | None = None) -> int:
    """Every due delivery, attempt made and logged before it returns (`--burst`, tests)."""
    sent = 0
    while True:
        handed = postbacks_dispatch(timeout=timeout, now=now)
        postbacks_wait()
        if not handed:
            return sent
        sent += handed
