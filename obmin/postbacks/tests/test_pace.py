"""A partner's postbacks keep pace with its traffic: the worker's sending threads go on to that
partner's next due delivery as each attempt ends, rather than waiting for the next round of the
duty (a second), which held one partner to two deliveries a second per worker however fast its
receiver answered."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from obmin.ops.worker import ObminWorker, duties
from obmin.postbacks.delivery import postbacks_wait
from obmin.postbacks.models import DeliveryStatus, Event, Postback, PostbackDelivery

pytestmark = pytest.mark.django_db(transaction=True)
QUEUED = 60
# Two at a time (PER_PARTNER), each a few milliseconds: about a second here, with room for a
# busy machine. One round's share a second would take half a minute.
WITHIN_SECONDS = 6


def due_clicks(partner, url: str, count: int, *, ago: timedelta = timedelta(seconds=5)
               ) -> None:
    postback = Postback.objects.create(partner=partner, url=url, method="GET",
                                       events=[Event.CLICK])
    moment = timezone.now() - ago
    PostbackDelivery.objects.bulk_create([
        PostbackDelivery(partner=partner, postback=postback, event=Event.CLICK, method="GET",
                         url=f"{url}?click={n}", created_at=moment, next_attempt_at=moment,
                         give_up_at=moment + timedelta(hours=24)) for n in range(count)])


def delivered() -> int:
    return PostbackDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count()


def worker_until_all_delivered(seconds: float) -> None:
    """The worker's real postback duty, on its real schedule, until every delivery is made or
    `seconds` have passed."""
    worker = ObminWorker(duties=[d for d in duties() if d.name == "send due postbacks"],
                         interval=0.2, burst=False, worker_id="pace")
    thread = threading.Thread(target=worker.run)
    thread.start()
    deadline = time.monotonic() + seconds
    while delivered() < QUEUED and time.monotonic() < deadline:
        time.sleep(0.1)
    worker.running = False
    thread.join(timeout=30)
    postbacks_wait(timeout=30)
    connection.close()


def test_one_partners_postbacks_go_as_fast_as_its_receiver_answers(alice, allow_private,
                                                                  receiver):
    due_clicks(alice, receiver.url + "/pb", QUEUED)
    worker_until_all_delivered(WITHIN_SECONDS)
    assert delivered() == QUEUED
    assert len(receiver.requests) == QUEUED
