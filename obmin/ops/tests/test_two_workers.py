"""Two `obmin worker` processes on one PostgreSQL and one Redis, one killed with SIGKILL in the
middle of a click batch: every click is stored exactly once, the dead worker's batch is taken
over by the other within seconds, each click's postback is queued once, each e-mail task runs
once and each reward hold is released once (`obmin ledger check` clean).

Real processes, a Redis of the test's own; PostgreSQL only (the spool and the stream's consumer
group are what two workers share; SQLite serves one host's single worker)."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.lib.mail import send_email
from obmin.partners.ingest import (
    CLICK_GROUP,
    CLICK_STREAM,
    REDELIVER_AFTER_MS,
    ClickData,
    new_click_uid,
)
from obmin.partners.models import Click
from obmin.postbacks.models import PostbackDelivery
from obmin.postbacks.services import postback_create
from obmin.rewards.models import LedgerEntry, RewardHold
from obmin.testing.deploy import RedisServer, database_url, redis_server_binary

OBMIN = str(Path(sys.executable).with_name("obmin"))
REDIS = redis_server_binary()
CLICKS = 30_000
BOB_CLICKS = 300  # bob wants a postback per click
EMAILS = 40
EXCHANGES = 20

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(REDIS is None, reason="redis-server is not installed"),
    # SQLite is one writer on one host; CI's PostgreSQL pass runs this.
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="two worker processes share a PostgreSQL database "
                              "(set DATABASE_URL to run this test)"),
]


def clicks_queued(stream: redis.Redis, alice_id: int, bob_id: int) -> set[str]:
    uids = set()
    pipe = stream.pipeline(transaction=False)
    for n in range(CLICKS):
        partner_id, code = (bob_id, "bob00002") if n < BOB_CLICKS else (alice_id, "alice001")
        click = ClickData(uid=new_click_uid(), created_at=timezone.now(), code=code,
                          partner_id=partner_id, user_hash=f"{n:016x}", is_bot=False,
                          browser="Chrome 120", ip="203.0.113.0", referrer="",
                          query_string="", user_agent="", seen_today=False)
        uids.add(click.uid)
        pipe.xadd(CLICK_STREAM, {"click": click.to_json()})
        if n % 2000 == 1999:
            pipe.execute()
    pipe.execute()
    return uids


def due_holds(referred, program) -> list[int]:
    """EXCHANGES credits on hold, all due now; the credits' ids."""
    program.hold_days = 7
    program.save()
    for n in range(EXCHANGES):
        exchange = referred(email=f"customer{n}@example.org")
        exchange_set_status(exchange_id=exchange.pk, status="success")
    RewardHold.objects.update(release_at=timezone.now() - timedelta(seconds=1))
    return list(RewardHold.objects.values_list("entry_id", flat=True))


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([OBMIN, "worker", "--interval", "0.2"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def reader_of(worker: subprocess.Popen[bytes]) -> str:
    return f"{os.uname().nodename}-{worker.pid}"


def pending_of(stream: redis.Redis) -> dict[str, int]:
    return {reader["name"].decode(): reader["pending"]
            for reader in stream.xinfo_consumers(CLICK_STREAM, CLICK_GROUP)}


def wait_for(condition, *, seconds: float, what: str, poll: float = 0.1):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(poll)


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(
        alice, bob, pm_btc, program, tmp_path, settings, tracker):
    assert REDIS is not None
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend",
                                  "QUEUES": ["default"]}}
    settings.POSTBACK_ALLOW_PRIVATE = True
    postback_create(partner=bob, url=tracker, events=["click"])
    credits = due_holds(lambda **kw: exchange_create(
        direction=pm_btc, amount_give=Decimal(1000), account_get="bc1q", partner_id=alice.pk,
        **kw), program)
    for n in range(EMAILS):
        send_email.enqueue(subject=f"two-workers-{n}", body=".", to=["alice@example.com"])

    with RedisServer(REDIS) as server:
        stream = redis.Redis.from_url(server.url)
        stream.xgroup_create(CLICK_STREAM, CLICK_GROUP, id="0", mkstream=True)
        uids = clicks_queued(stream, alice.pk, bob.pk)
        env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict),
               "REDIS_URL": server.url, "OBMIN_DATA_DIR": str(tmp_path / "data"),
               "POSTBACK_ALLOW_PRIVATE": "1", "LOG_LEVEL": "WARNING"}
        env.pop("DATABASE_REPLICA_URL", None)
        first = start_worker(env, tmp_path / "first.log")
        second = start_worker(env, tmp_path / "second.log")
        try:
            # The first worker has read a batch and not yet acknowledged it: killed now.
            wait_for(lambda: pending_of(stream).get(reader_of(first), 0) > 0, seconds=60,
                     poll=0.005, what="the first worker reading a batch")
            os.killpg(first.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            first.wait(timeout=10)
            orphaned = pending_of(stream)[reader_of(first)]
            assert orphaned > 0  # its batch is still unacknowledged...
            # ...and is taken over by the second worker within seconds.
            wait_for(lambda: pending_of(stream)[reader_of(first)] == 0,
                     seconds=REDELIVER_AFTER_MS / 1000 + 10, what="the batch taken over")
            taken_over = time.monotonic() - killed_at
            wait_for(lambda: Click.objects.count() >= CLICKS, seconds=60,
                     what="every click stored")
            wait_for(lambda: not RewardHold.objects.exists(), seconds=90,
                     what="every hold released")
            wait_for(lambda: DBTaskResult.objects.filter(
                status=TaskResultStatus.SUCCESSFUL).count() >= EMAILS, seconds=30,
                what="every e-mail sent")
            assert second.poll() is None, (tmp_path / "second.log").read_text()
        finally:
            for worker in (first, second):
                if worker.poll() is None:
                    os.killpg(worker.pid, signal.SIGTERM)
                    worker.wait(timeout=30)

    print(f"\n{orphaned} clicks of the killed worker taken over after {taken_over:.1f} s")
    stored = list(Click.objects.values_list("uid", flat=True))
    assert len(stored) == CLICKS and {uid.hex for uid in stored} == uids
    assert PostbackDelivery.objects.filter(partner=bob, event="click").count() == BOB_CLICKS
    releases = LedgerEntry.objects.filter(kind="release")
    assert sorted(releases.values_list("sequence", "exchange_id")) == sorted(
        LedgerEntry.objects.filter(pk__in=credits).values_list("sequence", "exchange_id"))
    assert len(credits) == EXCHANGES
    # A task the killed worker held is claimed again (its worker_ids name both); each e-mail
    # still went out once.
    claimed_again = [(task.task_path, task.worker_ids) for task in DBTaskResult.objects.all()
                     if len(task.worker_ids) > 1]
    print("tasks claimed again:", claimed_again)
    assert len(claimed_again) <= 1
    sent = "".join((tmp_path / name).read_text() for name in ("first.log", "second.log"))
    assert all(sent.count(f"Subject: two-workers-{n}\n") == 1 for n in range(EMAILS))
    check = subprocess.run([OBMIN, "ledger", "check"], env=env, capture_output=True,
                           text=True, timeout=120, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.fixture
def tracker():
    """A postback receiver that answers 200 to everything."""

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/postback?click={{sub1}}"
    server.shutdown()

