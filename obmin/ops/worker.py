"""`obmin worker`: runs queued tasks (django-tasks' database backend) and periodic duties.

Duties are the worker's own recurring jobs (writing queued clicks, flushing poll counters,
creating click partitions ahead); each runs every `every` seconds in every worker, and each
does an item of work once however many workers run it (README, *Several processes*: consumer
groups, leases, row locks). Queued tasks (e-mails) are claimed one at a time with a row lock,
so each runs once; a task whose worker died while running it (no heartbeat in the shared cache)
is made ready again for another.

A failing duty or a database outage is logged and retried on the next round: the worker itself
never stops on an error of the work it runs.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections
from django.db.utils import DatabaseError
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from obmin.exchange.services import exchange_cancel_overdue
from obmin.monitoring.services import monitor_polls_flush
from obmin.ops.alerts import exchanges_waiting_alert, reserves_low_alert
from obmin.partner_api.v1.bids import bid_callbacks_deliver
from obmin.partners.ingest import click_readers_forget, clicks_ingest
from obmin.partners.partitions import click_partitions_ensure
from obmin.postbacks.delivery import postbacks_dispatch, postbacks_send_now
from obmin.rates.services import rates_sync
from obmin.rewards.services import reward_release_due
from obmin.stats.services import clicks_roll_up, exchanges_roll_up, rollups_reconcile

logger = logging.getLogger("obmin.worker")

# Each worker says it is alive in the shared cache from a thread of its own, every third of
# this, whatever its main thread is busy with (a slow SMTP send, a long duty); one silent this
# long is dead and its running tasks run again elsewhere.
ALIVE_SECONDS = 30


def alive_key(worker_id: str) -> str:
    return f"obmin:worker-alive:{worker_id}"


@dataclass
class Duty:
    """A recurring job of the worker; `run` returns how much it did (0: nothing to do)."""

    name: str
    every: float  # seconds
    run: Callable[[], int]
    last_run: float = field(default=float("-inf"))


def duties() -> list[Duty]:
    """Every duty, in the order a round runs them (a new list per worker: each keeps its own
    schedule)."""
    return [
        Duty("write queued clicks", settings.CLICK_INGEST_SECONDS, clicks_ingest),
        # Hands due postbacks to a few sending threads and returns at once (postbacks.delivery).
        Duty("send due postbacks", 1, postbacks_dispatch),
        Duty("flush monitors' poll counts", 60, monitor_polls_flush),
        Duty("create click partitions ahead", 3600, click_partitions_ensure),
        Duty("cancel exchanges unpaid past their deadline", 60, exchange_cancel_overdue),
        # API v1 bids' status changes to their callback_url, with retries (partner_api.v1.bids).
        Duty("send bid callbacks", 2, bid_callbacks_deliver),
        Duty("release rewards whose holding period ended", 60, reward_release_due),
        # New clicks by id; hours whose clicks were changed or deleted, rebuilt (obmin.stats).
        Duty("roll clicks up into hourly statistics", 30, clicks_roll_up),
        Duty("rebuild the statistics of hours whose exchanges changed", 30, exchanges_roll_up),
        # The recent hours and a sample of older ones compared with the raw rows, repaired.
        Duty("reconcile statistics with the raw rows", 300, rollups_reconcile),
        # Polls each rate source on its own interval, then recomputes market rates and
        # hides what cannot be priced (rates.services); every round, so staleness is seen.
        Duty("sync market rates", 2, rates_sync),
        # The operator is told of exchanges waiting too long and of low reserves (ops.alerts).
        Duty("alert on exchanges waiting too long", 60, exchanges_waiting_alert),
        Duty("alert on low reserves", 60, reserves_low_alert),
        Duty("forget click readers of stopped workers", 600, click_readers_forget),
    ]


class ObminWorker(Worker):
    """django-tasks-db's worker with the duties run between tasks."""

    def __init__(self, *, duties: list[Duty], interval: float, burst: bool,
                 worker_id: str) -> None:
        super().__init__(queue_names=["default"], interval=interval, batch=burst,
                         backend_name="default", startup_delay=False, max_tasks=None,
                         worker_id=worker_id, excluded_queue_names=[])
        self.duties = [*duties, Duty("run again the tasks of workers that died", 10,
                                     self.tasks_of_dead_workers_requeue)]

    def heartbeat(self) -> bool:
        """Tells the other workers this one is alive; whether the shared cache took it."""
        key = alive_key(self.worker_id)
        cache.set(key, time.time(), timeout=ALIVE_SECONDS)
        return cache.get(key) is not None

    def keep_alive(self, stop: threading.Event) -> None:
        """The heartbeat, until `stop`: beside the main loop, so a task or duty that takes longer
        than ALIVE_SECONDS is not taken for a dead worker's and run twice."""
        while not stop.wait(ALIVE_SECONDS / 3):
            # The cache's outage is the main loop's to log; this thread must outlive it.
            with contextlib.suppress(Exception):
                self.heartbeat()

    def tasks_of_dead_workers_requeue(self) -> int:
        """Makes ready again the tasks left running by a worker without a heartbeat (killed
        mid-task); returns how many. Only while the shared cache answers this worker's own
        heartbeat: a cache outage must not make every worker look dead."""
        if not self.heartbeat():
            return 0
        started_before = timezone.now() - timedelta(seconds=ALIVE_SECONDS)
        running = list(DBTaskResult.objects.running()
                       .filter(backend_name=self.backend_name, started_at__lt=started_before)
                       .values_list("id", "worker_ids", "started_at")[:100])
        requeued = 0
        for task_id, worker_ids, started_at in running:
            if not worker_ids or cache.get(alive_key(worker_ids[-1])) is not None:
                continue
            # Only if still as it was read: another worker may be doing the same.
            requeued += DBTaskResult.objects.filter(
                id=task_id, status=TaskResultStatus.RUNNING, started_at=started_at,
            ).update(status=TaskResultStatus.READY, started_at=None)
        if requeued:
            logger.warning("%s task(s) of workers that died made ready again", requeued)
        return requeued

    def run_duties(self, *, all_now: bool = False) -> int:
        done = 0
        now = time.monotonic()
        for duty in self.duties:
            if not all_now and now - duty.last_run < duty.every:
                continue
            duty.last_run = now
            try:
                done += duty.run()
            except Exception:
                logger.exception("duty %r failed; it runs again next round", duty.name)
                close_old_connections()
        return done

    def run_one_task(self) -> bool:
        """Claims and runs the next ready task; False when there is none (or no database)."""
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name,
                                                    queue_name__in=self.queue_names)
        try:
            with exclusive_transaction(tasks.db):
                task_result = tasks.get_locked()
                if task_result is not None:
                    task_result.claim(self.worker_id)
        except DatabaseError:
            logger.warning("cannot claim a task (database unavailable?); retrying")
            close_old_connections()
            return False
        if task_result is None:
            return False
        self.run_task(task_result)
        return True

    def run(self) -> None:
        """Rounds of duties and tasks until stopped; with `batch` (`--burst`), one round of
        every duty, then every ready task, then exit."""
        self.heartbeat()
        stop = threading.Event()
        threading.Thread(target=self.keep_alive, args=(stop,), name="heartbeat",
                         daemon=True).start()
        try:
            if self.batch:
                self.run_duties(all_now=True)
                while self.running and self.run_one_task():
                    pass
                postbacks_send_now()  # every due postback, answered or timed out, then exit
                return
            while self.running:
                close_old_connections()
                self.run_duties()
                ran = 0
                # A bounded number of tasks per round, so duties (the click writer) keep pace.
                while self.running and ran < 50 and self.run_one_task():
                    ran += 1
                if self.running and not ran:
                    time.sleep(self.pause())
        finally:
            stop.set()

    def pause(self) -> float:
        """Seconds to sleep after an idle round: `interval`, or less when a duty is due sooner
        (the click writer runs several times a second)."""
        now = time.monotonic()
        due = min(duty.last_run + duty.every for duty in self.duties)
        return max(min(self.interval, due - now), 0.01)
