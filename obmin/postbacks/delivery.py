"""Sending queued postbacks, by `obmin worker` (duty "send due postbacks").

Each round claims the deliveries that are due (a lease in `claimed_until`, so two workers never
send one at once) and hands them to a small pool of threads, without waiting: a receiver that
is slow or never answers holds one thread for at most `TIMEOUT_SECONDS` (netguard bounds the
whole attempt) and never the worker's other duties; at most `THREADS` are in flight per
worker, and at most `PER_PARTNER` of them for one partner: each round takes the earliest due
deliveries of every partner in turn, so a partner with thousands queued to a receiver that
hangs, or to URLs that cannot be sent, delays no one else. A thread whose attempt ended goes on
to its partner's next due delivery for up to `CHAIN_SECONDS`, then gives its place back to the
next round's sharing: a partner's postbacks go as fast as its receiver answers (two at a time
per worker), not one round's share a second. A 2xx answer is delivered; anything
else, whatever went wrong (an exception included), is a failed attempt, retried with
exponential backoff (1 min, 2, 4... at most 4 h apart) until `give_up_at` (24 h after the
event), the last attempt made then, after which the delivery has failed. Every attempt is
logged.

Two signatures, both HMAC-SHA256 with the partner's secret over the body (the raw POST body, or
the full URL of a GET):
- `X-Obmin-Signature: sha256=<hex>` of the body alone: the contract's form (section 8), which
  receivers built to it check as it is;
- `X-Obmin-Signature-V2: t=<unix>,v1=<hex>` (Stripe's scheme) of `<t>.<delivery id>.<body>`, `t`
  being when the attempt is made. A receiver that checks this one and refuses a `t` more than
  five minutes away from its clock cannot be fed a captured request later, nor its body under
  another delivery id; a test event's delivery id starts with `test-`, signed like the rest, so
  it cannot pass as a real event. The partners' docs show this check.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

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
# Sending threads one partner may hold at once (in each worker process).
PER_PARTNER = 2
# How long a sending thread goes on with its partner's next due deliveries before the round
# shares the threads out again.
CHAIN_SECONDS = 1.0
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=4)

_pool: ThreadPoolExecutor | None = None
_in_flight: dict[int, Future[None]] = {}
_partner_of: dict[int, int] = {}  # delivery id -> partner id, of those in flight
_lock = threading.Lock()


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 1 min, 2, 4, 8... at most 4 h."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def body_signature(secret: str, signed: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of signed>`: `X-Obmin-Signature`, the contract's form."""
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature(secret: str, *, at: int, delivery_id: str, signed: bytes) -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256 of "t.delivery_id." + signed>` (the module's docstring)."""
    message = f"{at}.{delivery_id}.".encode() + signed
    return f"t={at},v1={hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()}"


def delivery_id_of(delivery: PostbackDelivery) -> str:
    """`X-Obmin-Delivery`: the same on every retry; a test event's says so (`test-...`)."""
    return f"test-{delivery.uid}" if delivery.is_test else str(delivery.uid)


def request_of(delivery: PostbackDelivery, secret: str, *, at: int | None = None,
               ) -> tuple[bytes | None, dict[str, str]]:
    """The body and headers of an attempt made at `at` (unix seconds; now by default): the
    same body and delivery id on every attempt, the signature's time each attempt's own."""
    body = delivery.body.encode() if delivery.method == Method.POST else None
    delivery_id = delivery_id_of(delivery)
    signed = body if body is not None else delivery.url.encode()
    headers = {
        "X-Obmin-Event": delivery.event,
        "X-Obmin-Delivery": delivery_id,
        "X-Obmin-Signature": body_signature(secret, signed),
        "X-Obmin-Signature-V2": signature(secret, at=int(time.time()) if at is None else at,
                                          delivery_id=delivery_id, signed=signed),
    }
    if body is not None:
        headers["Content-Type"] = "application/json; charset=utf-8"
    if delivery.is_test:
        headers["X-Obmin-Test"] = "1"
    return body, headers


def deliveries_claim(*, limit: int, lease: float, now: datetime | None = None,
                     busy: Counter[int] | None = None, partner_id: int | None = None,
                     ) -> list[tuple[int, int]]:
    """Up to `limit` due deliveries (id, partner id), now held by this worker for `lease`
    seconds: the earliest due of each partner first, then each partner's next, and never more
    than `PER_PARTNER` for a partner counting those of its already in flight (`busy`). With
    `partner_id`, that partner's earliest due (a thread going on with its partner's)."""
    now = now or timezone.now()
    busy = busy or Counter()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=timezone.now())
    pending = PostbackDelivery.objects.filter(free, status=DeliveryStatus.PENDING,
                                              next_attempt_at__lte=now)
    due = (pending.filter(partner_id=partner_id).order_by("next_attempt_at", "id")
           .values_list("id", "partner_id")[:limit] if partner_id is not None else
           pending.annotate(turn=Window(RowNumber(), partition_by=[F("partner_id")],
                                        order_by=[F("next_attempt_at").asc(), F("id").asc()]))
           .filter(turn__lte=PER_PARTNER)
           .order_by("turn", "next_attempt_at", "id")
           .values_list("id", "partner_id"))
    chosen: list[tuple[int, int]] = []
    taken = Counter(busy)
    for delivery_id, owner_id in due:
        if len(chosen) >= limit:
            break
        if partner_id is not None or taken[owner_id] < PER_PARTNER:
            taken[owner_id] += 1
            chosen.append((delivery_id, owner_id))
    if not chosen:
        return []
    with transaction.atomic():
        # Locked and claimed only if still free: another worker may have come between.
        ids = list(PostbackDelivery.objects
                   .filter(free, id__in=[pair[0] for pair in chosen],
                           status=DeliveryStatus.PENDING)
                   .select_for_update(skip_locked=True).values_list("id", flat=True))
        if ids:
            PostbackDelivery.objects.filter(id__in=ids).update(
                claimed_until=timezone.now() + timedelta(seconds=lease))
    kept = set(ids)
    return [(delivery_id, owner_id) for delivery_id, owner_id in chosen
            if delivery_id in kept]


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
    started = time.monotonic()
    status_code: int | None = None
    answer = error = ""
    try:
        body, headers = request_of(delivery, secret)
        reply = netguard.send(delivery.method, delivery.url, body=body, headers=headers,
                              timeout=timeout, owner=delivery.partner_id)
        status_code, answer = reply.status, reply.text[:ANSWER_BYTES]
    except netguard.SendFailed as failure:
        error = failure.reason[:255]
    except Exception as exc:  # noqa: BLE001 - whatever it was, this attempt failed
        # Never the worker's problem: counted, backed off and finally failed like the rest.
        logger.warning("postback delivery %s: %s: %s", delivery_id, type(exc).__name__, exc)
        error = (_("Could not be sent: %(error)s")
                 % {"error": f"{type(exc).__name__}: {exc}"})[:255]
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


def _run(delivery_id: int, partner_id: int, timeout: float, now: datetime | None) -> None:
    """The attempt of `delivery_id`, then of the partner's next due ones while they last, for
    up to CHAIN_SECONDS (the thread keeps its place among the partner's PER_PARTNER)."""
    started = time.monotonic()
    current = delivery_id
    try:
        while True:
            try:
                delivery_attempt(current, timeout=timeout, now=now)
            except Exception:
                # The database refused the record: the lease runs out and the delivery is
                # tried again.
                logger.exception("postback delivery %s: the attempt could not be recorded",
                                 current)
                return
            if time.monotonic() - started >= CHAIN_SECONDS:
                return
            following = deliveries_claim(limit=1, lease=_lease(timeout), now=now,
                                         partner_id=partner_id)
            if not following:
                return
            current = following[0][0]
    except Exception:
        logger.exception("postback deliveries of partner %s: the next could not be claimed",
                         partner_id)
    finally:
        connection.close()  # this thread's own connection
        with _lock:
            _in_flight.pop(delivery_id, None)
            _partner_of.pop(delivery_id, None)


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
        busy = Counter(_partner_of.values())
    if room <= 0:
        return 0
    claimed = deliveries_claim(limit=room, lease=_lease(timeout), now=now, busy=busy)
    pool = _executor()
    with _lock:
        for delivery_id, partner_id in claimed:
            _partner_of[delivery_id] = partner_id
            _in_flight[delivery_id] = pool.submit(_run, delivery_id, partner_id, timeout, now)
    return len(claimed)


def _lease(timeout: float) -> float:
    # The lease outlasts the attempt, so no other worker takes it while this one still may.
    return timeout * 2 + 30


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
