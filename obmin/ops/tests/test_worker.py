"""`obmin worker`: its duties and queued tasks run, a failing duty does not stop it."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from obmin.lib.mail import send_email
from obmin.ops.worker import Duty, ObminWorker, alive_key
from obmin.partners.ingest import ClickData, clicks_ingest, new_click_uid
from obmin.partners.models import Click

pytestmark = pytest.mark.django_db(transaction=True)


def test_burst_writes_spooled_clicks_and_exits(alice, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    spool = tmp_path / "spool"
    spool.mkdir()
    click = ClickData(uid=new_click_uid(), created_at=timezone.now(), code="ALICE001",
                      partner_id=None, user_hash="", is_bot=False, browser="Firefox 121",
                      ip="198.51.100.0", referrer="", query_string="", user_agent="",
                      seen_today=None)
    (spool / "clicks.jsonl").write_text(click.to_json() + "\n")
    call_command("worker", "--burst")
    assert Click.objects.get().partner_id == alice.pk
    assert not list(spool.iterdir())


def test_a_failing_duty_is_logged_and_the_others_run(caplog):
    ran = []

    def broken() -> int:
        raise RuntimeError("the database went away")

    def fine() -> int:
        ran.append(1)
        return 1

    worker = ObminWorker(duties=[Duty("broken", 1, broken), Duty("fine", 1, fine)],
                         interval=0.1, burst=True, worker_id="test")
    worker.run()
    assert ran == [1]
    assert "duty 'broken' failed" in caplog.text


@pytest.fixture(scope="module")
def migrated_data_dir(tmp_path_factory) -> Path:
    """A data directory with its SQLite database migrated, once for the command-line tests
    (migrating takes most of their time)."""
    data_dir = tmp_path_factory.mktemp("worker-cli")
    env = {**os.environ, "OBMIN_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    subprocess.run([str(Path(sys.executable).with_name("obmin")), "migrate", "-v0"], env=env,
                   check=True, timeout=120)
    return data_dir


def test_the_command_line_burst_exits_zero(migrated_data_dir: Path):
    obmin = Path(sys.executable).with_name("obmin")
    env = {**os.environ, "OBMIN_DATA_DIR": str(migrated_data_dir)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run([str(obmin), "worker", "--burst"], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    bad = subprocess.run([str(obmin), "worker", "--interval", "0"], env=env,
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode != 0
    assert bad.stderr.strip() == "CommandError: --interval must be greater than 0."


def spooled_click(tmp_path: Path, name: str) -> ClickData:
    click = ClickData(uid=new_click_uid(), created_at=timezone.now(), code="ALICE001",
                      partner_id=None, user_hash="", is_bot=False, browser="Firefox 121",
                      ip="198.51.100.0", referrer="", query_string="", user_agent="",
                      seen_today=None)
    spool = tmp_path / "spool"
    spool.mkdir(exist_ok=True)
    (spool / name).write_text(click.to_json() + "\n")
    return click


def test_a_spool_file_another_worker_holds_is_left_to_it(alice, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    spooled_click(tmp_path, "clicks.aaaa.replaying")
    held = tmp_path / "spool" / "clicks.aaaa.replaying"
    # Another worker (here a second open file description) is replaying it.
    fd = os.open(held, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert clicks_ingest() == 0
        assert held.exists() and not Click.objects.exists()
    finally:
        os.close(fd)  # its holder died: the lock goes with it
    assert clicks_ingest() == 1
    assert not held.exists() and Click.objects.count() == 1


def dead_workers_task(*, worker_id: str, started: timedelta) -> DBTaskResult:
    task = DBTaskResult.objects.get(id=send_email.using(backend="default").enqueue(
        subject="Hello", body="…", to=["alice@example.com"]).id)
    DBTaskResult.objects.filter(id=task.id).update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now() - started,
        worker_ids=[worker_id])
    return task


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend",
                                  "QUEUES": ["default"]}}


def test_a_task_left_running_by_a_dead_worker_runs_again(database_tasks, mailoutbox):
    orphan = dead_workers_task(worker_id="host-111", started=timedelta(minutes=5))
    # Another worker's task, running for as long, whose worker is alive: left alone.
    alive = ObminWorker(duties=[], interval=0.1, burst=True, worker_id="host-222")
    alive.heartbeat()
    busy = dead_workers_task(worker_id="host-222", started=timedelta(minutes=5))
    # Just started: its worker may not have said it is alive yet.
    fresh = dead_workers_task(worker_id="host-333", started=timedelta(seconds=1))

    worker = ObminWorker(duties=[], interval=0.1, burst=True, worker_id="host-444")
    assert worker.tasks_of_dead_workers_requeue() == 1
    statuses = dict(DBTaskResult.objects.values_list("id", "status"))
    assert statuses == {orphan.id: TaskResultStatus.READY, busy.id: TaskResultStatus.RUNNING,
                        fresh.id: TaskResultStatus.RUNNING}
    worker.run()  # burst: runs it
    assert DBTaskResult.objects.get(id=orphan.id).status == TaskResultStatus.SUCCESSFUL
    assert DBTaskResult.objects.get(id=orphan.id).worker_ids == ["host-111", "host-444"]
    assert len(mailoutbox) == 1


def test_without_the_shared_cache_no_worker_looks_dead(database_tasks, settings):
    dead_workers_task(worker_id="host-111", started=timedelta(minutes=5))
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.dummy.DummyCache"}}  # takes nothing
    worker = ObminWorker(duties=[], interval=0.1, burst=True, worker_id="host-444")
    assert worker.tasks_of_dead_workers_requeue() == 0
    assert DBTaskResult.objects.get().status == TaskResultStatus.RUNNING


@pytest.mark.parametrize("burst", [False, True], ids=["worker", "burst"])
def test_a_worker_busy_longer_than_the_alive_window_still_looks_alive(monkeypatch, burst):
    """A slow SMTP send (EMAIL_TIMEOUT is as long as the alive window) or a long duty must not
    make the worker look dead, or another worker runs its task again: a second e-mail."""
    import threading
    import time

    from obmin.ops import worker as worker_module

    monkeypatch.setattr(worker_module, "ALIVE_SECONDS", 0.6)
    seen_alive: list[bool] = []

    def slow_send() -> int:  # the main thread is busy for more than three alive windows
        for _ in range(4):
            time.sleep(0.5)
            seen_alive.append(cache.get(alive_key("busy-host")) is not None)
        return 0

    worker = ObminWorker(duties=[Duty("slow", 60, slow_send)], interval=0.1, burst=burst,
                         worker_id="busy-host")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    while len(seen_alive) < 4:
        time.sleep(0.05)
    worker.running = False
    thread.join(timeout=5)
    assert seen_alive == [True, True, True, True]


def test_a_duty_due_sooner_than_the_interval_runs_on_its_own_pace():
    """The click writer runs every CLICK_INGEST_SECONDS (a quarter second), though an idle
    round waits `interval` (a second): the worker wakes for the duty due first."""
    import threading
    import time

    runs: list[float] = []

    def clicks() -> int:
        runs.append(time.monotonic())
        return 0

    worker = ObminWorker(duties=[Duty("often", 0.1, clicks), Duty("seldom", 60, lambda: 0)],
                         interval=1.0, burst=False, worker_id="pace-test")
    worker.heartbeat = lambda: True  # type: ignore[method-assign]  # no shared cache needed
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    time.sleep(0.75)
    worker.running = False
    thread.join(timeout=5)
    # Six or more in 0.75 s at 0.1 s apart; waiting the interval would have made it one.
    assert len(runs) >= 5
    assert all(later - earlier >= 0.09 for earlier, later in zip(runs, runs[1:], strict=False))


def test_the_worker_lowers_its_own_priority(migrated_data_dir: Path):
    """WORKER_NICE: `obmin worker` gives itself that much less CPU priority when it starts, so
    the app servers on the same cores come first."""
    import signal

    obmin = Path(sys.executable).with_name("obmin")
    env = {**os.environ, "OBMIN_DATA_DIR": str(migrated_data_dir), "WORKER_NICE": "7"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    worker = subprocess.Popen([str(obmin), "worker"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        assert worker.stdout is not None
        assert "running" in worker.stdout.readline()  # started, past the priority change
        assert os.getpriority(os.PRIO_PROCESS, worker.pid) == min(ours + 7, 19)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
