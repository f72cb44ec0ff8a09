"""Poll statistics: counted in memory, pushed to the cache, flushed to the database."""

from __future__ import annotations

import sys
import threading
import time

import pytest
from django.core.cache import cache
from django.core.management import call_command

from obmin.monitoring import polls
from obmin.monitoring.models import MonitorPollHour, MonitorStatus
from obmin.monitoring.services import monitor_polls_flush
from obmin.monitoring.tests.parse import export
from obmin.testing.factories import PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def slow_push(settings):
    settings.MONITORING_POLL_PUSH_SECONDS = 3600
    settings.MONITORING_POLL_FLUSH_SECONDS = 3600


def test_polls_are_counted_per_code_without_touching_the_database(
        client, monitor, directions, slow_push, django_assert_num_queries):
    export(client, "xml", "bestmon1")
    with django_assert_num_queries(0):
        export(client, "json", "BESTMON1")
        export(client, "txt", "bestmon1")
        export(client, "txt", "nosuchcode")  # unknown codes belong to no one: not counted
    assert sum(polls.buffered().values()) == 3
    assert not MonitorPollHour.objects.exists()


def test_flush_writes_hour_counts_and_last_seen(client, monitor, directions, slow_push, midday):
    before = time.time()
    for _ in range(3):
        export(client, "xml", "bestmon1")
    assert monitor_polls_flush() == 2  # one hour row, one status row
    row = MonitorPollHour.objects.get(partner=monitor)
    assert row.polls == 3
    assert row.hour.timestamp() == polls.hour_of(before) or row.hour.timestamp() == \
        polls.hour_of(time.time())
    status = MonitorStatus.objects.get(partner=monitor)
    assert before - 1 <= status.first_seen.timestamp() <= status.last_seen.timestamp()
    assert status.last_seen.timestamp() <= time.time()
    # Flushing again counts nothing twice; new polls add up.
    monitor_polls_flush()
    export(client, "xml", "bestmon1")
    export(client, "xml", "bestmon1")
    monitor_polls_flush()
    assert MonitorPollHour.objects.get(partner=monitor).polls == 5


def test_counts_from_several_processes_add_up(client, monitor, directions, slow_push):
    """Each process pushes its own counts; the cache counter sums them."""
    now = time.time()
    polls.poll_record(monitor.pk, now)
    polls.polls_push(now)  # process one
    for _ in range(4):
        polls.poll_record(monitor.pk, now)
    polls.polls_push(now)  # process two
    assert cache.get(polls.counter_key(monitor.pk, polls.hour_of(now))) == 5
    monitor_polls_flush(now=now)
    assert MonitorPollHour.objects.get(partner=monitor).polls == 5


def test_polls_from_threads_of_one_process_are_each_counted_once(monitor, slow_push):
    """Requests in several threads of one process (`obmin serve --blocking-threads 2`): an
    increment racing another, or a push, is neither lost nor counted twice."""
    now = time.time()
    threads, each = 4, 5000
    stop = threading.Event()

    def record() -> None:
        for _ in range(each):
            polls.poll_record(monitor.pk, now)

    def push() -> None:
        while not stop.is_set():
            polls.polls_push(now)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show
    try:
        pusher = threading.Thread(target=push)
        pusher.start()
        recorders = [threading.Thread(target=record) for _ in range(threads)]
        for thread in recorders:
            thread.start()
        for thread in recorders:
            thread.join()
        stop.set()
        pusher.join()
    finally:
        sys.setswitchinterval(switch)
    polls.polls_push(now)
    assert cache.get(polls.counter_key(monitor.pk, polls.hour_of(now))) == threads * each


def test_hours_are_kept_apart(monitor, slow_push):
    hour = polls.hour_of(time.time())
    polls.poll_record(monitor.pk, hour - 1800)  # the previous hour
    polls.poll_record(monitor.pk, hour + 5)
    polls.poll_record(monitor.pk, hour + 6)
    monitor_polls_flush(now=hour + 10)
    counts = dict(MonitorPollHour.objects.values_list("hour", "polls"))
    assert sorted(counts.values()) == [1, 2]


def test_the_request_path_flushes_about_once_a_minute(client, monitor, directions, settings,
                                                     midday):
    settings.MONITORING_POLL_PUSH_SECONDS = 0
    settings.MONITORING_POLL_FLUSH_SECONDS = 0
    export(client, "xml", "bestmon1")
    assert MonitorPollHour.objects.get(partner=monitor).polls == 1
    # The site-wide lock lets one flush through per interval.
    export(client, "xml", "bestmon1")
    assert MonitorPollHour.objects.get(partner=monitor).polls == 1
    cache.delete(polls.FLUSH_LOCK_KEY)
    export(client, "xml", "bestmon1")
    assert MonitorPollHour.objects.get(partner=monitor).polls == 3


def test_blocked_monitors_are_still_counted(client, monitor, directions, slow_push):
    """The operator sees that a switched-off monitor keeps polling."""
    monitor.export_enabled = False
    monitor.save()
    export(client, "xml", "bestmon1")
    monitor_polls_flush()
    assert MonitorPollHour.objects.get(partner=monitor).polls == 1


def test_flush_command(client, monitor, directions, slow_push, capsys):
    export(client, "txt", "bestmon1")
    call_command("monitors", "flush")
    assert capsys.readouterr().out.strip().splitlines()[-1] == \
        "Flushed poll counts: 2 row(s) written."
    assert MonitorStatus.objects.filter(partner=monitor).exists()


def test_admin_shows_who_polls(client, carol, monitor, directions, slow_push, midday):
    quiet = PartnerFactory(ref_code="quietmon")
    export(client, "xml", "bestmon1")
    export(client, "xml", "bestmon1")
    export(client, "xml", "quietmon")
    monitor_polls_flush()
    MonitorStatus.objects.filter(partner=quiet).update(
        last_seen=MonitorStatus.objects.get(partner=quiet).last_seen.replace(year=2020))
    client.force_login(carol)
    page = client.get("/admin/monitoring/monitorstatus/").content.decode()
    assert "bestmon1" in page and "quietmon" in page
    assert "polling" in page and "stopped" in page
    stopped = client.get("/admin/monitoring/monitorstatus/?state=stopped").content.decode()
    assert "quietmon" in stopped and "bestmon1" not in stopped
    detail = client.get(f"/admin/monitoring/monitorstatus/{monitor.pk}/change/")
    assert detail.status_code == 200 and ":00 — 2" in detail.content.decode()


def test_admin_switches_a_monitor_off(client, carol, monitor, directions, slow_push):
    export(client, "xml", "bestmon1")
    monitor_polls_flush()
    client.force_login(carol)
    response = client.post("/admin/monitoring/monitorstatus/", {
        "action": "switch_export_off", "_selected_action": [monitor.pk]})
    assert response.status_code == 302
    monitor.refresh_from_db()
    assert not monitor.export_enabled
    client.logout()
    assert export(client, "txt", "bestmon1").content == b"Maintenance"
