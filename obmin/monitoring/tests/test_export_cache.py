"""The cached export: rebuilt at once on every change it depends on, and by time alone."""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.forms.models import model_to_dict
from django.utils import timezone

from obmin.exchange.models import Direction
from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.monitoring import snapshot
from obmin.monitoring.models import ExportSettings
from obmin.monitoring.tests.parse import export, xml_items
from obmin.testing.redis import TEST_REDIS, redis_test_answers, redis_test_url

PM_BTC = ("PMUSD", "BTC", "")
PM_USDT = ("PMUSD", "USDTTRC20", "")


def _admin_form(direction: Direction, **changes: object) -> dict[str, object]:
    data = model_to_dict(direction, exclude=["id"])
    data.update(changes)
    return {key: "" if value is None else value for key, value in data.items()}


def test_rate_change_in_the_admin_shows_at_once(client, carol, monitor, directions):
    before = export(client, "xml", "bestmon1")
    assert xml_items(before.content)[PM_BTC]["in"] == "100000"
    client.force_login(carol)
    pm_btc = directions["pm_btc"]
    url = f"/admin/exchange/direction/{pm_btc.pk}/change/"
    # The page's inline formsets (the direction's fields...) send their management forms.
    management = dict(re.findall(r'name="([\w-]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)"'
                                 r'[^>]*value="(\d*)"', client.get(url).content.decode()))
    response = client.post(url, {**_admin_form(pm_btc, rate_give="98000.25"), **management})
    assert response.status_code == 302, response.content[:2000]
    client.logout()
    after = export(client, "xml", "bestmon1", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert xml_items(after.content)[PM_BTC]["in"] == "98000.25"
    assert after["ETag"] != before["ETag"]


def test_reserve_move_on_exchange_success_shows(client, monitor, directions,
                                               django_capture_on_commit_callbacks):
    assert xml_items(export(client, "xml", "bestmon1").content)[PM_BTC]["amount"] == "2"
    exchange = exchange_create(direction=directions["pm_btc"], amount_give=Decimal(1000),
                               email="c@example.org", account_get="bc1q")
    # Reserves move in an UPDATE; the exchange room announces it once the change commits.
    with django_capture_on_commit_callbacks(execute=True):
        exchange_set_status(exchange_id=exchange.pk, status="success", actor="test")
    assert xml_items(export(client, "xml", "bestmon1").content)[PM_BTC]["amount"] == "1.99"


def test_switching_a_monitor_off_answers_maintenance_at_once(client, monitor, directions):
    assert xml_items(export(client, "xml", "bestmon1").content)
    monitor.export_enabled = False
    monitor.save()
    assert export(client, "txt", "bestmon1").content == b"Maintenance"


def test_a_new_export_code_works_at_once(client, monitor, directions):
    assert export(client, "txt", "feedtwo").content == b"Maintenance"
    monitor.export_code = "feedtwo"
    monitor.save()
    assert b"PMUSD;BTC;100000;1;2;;\n" in export(client, "txt", "FeedTwo").content
    assert export(client, "txt", "bestmon1").content == b"Maintenance"


def test_maintenance_from_the_admin(client, carol, monitor, directions):
    assert xml_items(export(client, "xml", "bestmon1").content)
    client.force_login(carol)
    response = client.get("/admin/monitoring/exportsettings/")
    assert response.status_code == 302
    response = client.post(response["Location"], {
        "maintenance": "on", "max_rate_age_minutes": "0", "manual_hours_start": "09:00:00",
        "manual_hours_end": "21:00:00"})
    assert response.status_code == 302
    assert ExportSettings.objects.get().maintenance
    client.logout()
    assert export(client, "json", "bestmon1").content == b'["error","Maintenance"]'


def test_another_process_invalidating_is_seen(client, monitor, directions, settings):
    """Each process keeps its own copy; a new token in the shared cache replaces it."""
    settings.MONITORING_EXPORT_RECHECK_SECONDS = 0
    export(client, "xml", "bestmon1")
    Direction.objects.filter(pk=directions["pm_btc"].pk).update(rate_give=Decimal(97000))
    # No signal: this process still serves its copy, as a process that missed the change would.
    assert xml_items(export(client, "xml", "bestmon1").content)[PM_BTC]["in"] == "100000"
    cache.set(snapshot.VERSION_KEY, "from-another-process", None)
    assert xml_items(export(client, "xml", "bestmon1").content)[PM_BTC]["in"] == "97000"


def test_a_busy_process_reads_the_token_at_most_every_interval(monitor, directions, settings,
                                                              django_assert_num_queries):
    settings.MONITORING_EXPORT_RECHECK_SECONDS = 5
    start = time.time()
    first = snapshot.current_snapshot(start)
    Direction.objects.filter(pk=directions["pm_btc"].pk).update(rate_give=Decimal(97000))
    cache.set(snapshot.VERSION_KEY, "from-another-process", None)
    with django_assert_num_queries(0):
        assert snapshot.current_snapshot(start + 4) is first
    later = snapshot.current_snapshot(start + 6)
    assert later.version == "from-another-process"
    assert b"PMUSD;BTC;97000;1;" in later.rates["txt"].content
    # A change made in this process is seen at once, interval or not.
    directions["pm_btc"].save()
    assert snapshot.current_snapshot(start + 6.5).version != later.version


def test_a_process_takes_the_snapshot_another_built(client, monitor, directions,
                                                   django_assert_num_queries):
    export(client, "xml", "bestmon1")
    snapshot._memo = None  # a fresh worker process
    with django_assert_num_queries(0):
        assert xml_items(export(client, "xml", "bestmon1").content)


def test_rebuild_to_equal_bytes_keeps_etag_and_last_modified(client, monitor, directions):
    first = export(client, "xml", "bestmon1")
    directions["pm_btc"].save()  # a save that changes nothing on the wire
    second = export(client, "xml", "bestmon1", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert second.status_code == 304
    assert second["ETag"] == first["ETag"]


def test_rebuilds_when_the_oldest_rate_goes_stale(monitor, directions):
    ExportSettings.objects.create(max_rate_age_minutes=10)
    now = timezone.now()
    Direction.objects.filter(pk=directions["pm_usdt"].pk).update(
        rate_updated_at=now - timedelta(minutes=9))
    snapshot.export_invalidate()
    built = snapshot.current_snapshot(now.timestamp())
    assert b"USDTTRC20" in built.rates["txt"].content
    expected = (now - timedelta(minutes=9) + timedelta(minutes=10)).timestamp()
    assert built.expires_at == pytest.approx(expected)
    assert snapshot.current_snapshot(expected - 1) is built
    later = snapshot.current_snapshot(expected + 1)
    assert later is not built and later.version != built.version
    assert b"PMUSD;USDTTRC20" not in later.rates["txt"].content
    assert b"PMUSD;BTC" in later.rates["txt"].content


def test_rebuilds_when_working_hours_close(monitor, directions):
    now = timezone.now().replace(microsecond=0)
    end = now + timedelta(minutes=30)
    ExportSettings.objects.create(manual_hours_enabled=True,
                                  manual_hours_start=(now - timedelta(hours=1)).time(),
                                  manual_hours_end=end.time())
    built = snapshot.current_snapshot(now.timestamp())
    assert b"BTC;PMUSD" in built.rates["txt"].content
    assert built.expires_at == pytest.approx(end.timestamp())
    later = snapshot.current_snapshot(end.timestamp() + 1)
    assert b"BTC;PMUSD" not in later.rates["txt"].content


def _redis_up() -> bool:
    return redis_test_answers()


def _file_cache(tmp_path):
    return {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache")}


def _redis_cache(tmp_path):
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_test_url(0), "KEY_PREFIX": f"obmin-test-{uuid.uuid4()}",
            "TIMEOUT": 300}


@pytest.mark.parametrize("backend", [
    _file_cache,
    pytest.param(_redis_cache, marks=pytest.mark.skipif(
        not _redis_up(), reason=f"no Redis at {TEST_REDIS}")),
], ids=["file", "redis"])
def test_shared_cache_backends(client, monitor, directions, settings, tmp_path, backend,
                               django_assert_num_queries, midday):
    """The production caches: the snapshot pickles, the token moves, counters count."""
    settings.CACHES = {"default": backend(tmp_path)}
    settings.MONITORING_POLL_PUSH_SECONDS = 0
    snapshot._memo = None
    try:
        export(client, "xml", "bestmon1")
        snapshot._memo = None  # another process: reads the stored snapshot, no query
        with django_assert_num_queries(0):
            first = export(client, "xml", "bestmon1", HTTP_ACCEPT_ENCODING="gzip")
        assert first["Content-Encoding"] == "gzip"
        pm_btc = directions["pm_btc"]
        pm_btc.rate_give = Decimal(99000)
        pm_btc.save()
        assert xml_items(export(client, "xml", "bestmon1").content)[PM_BTC]["in"] == "99000"
        hour = int(time.time() // 3600 * 3600)
        assert cache.get(f"monitoring:polls:{monitor.pk}:{hour}") == 3
    finally:
        cache.delete_many([snapshot.VERSION_KEY, snapshot.SNAPSHOT_KEY, snapshot.SINCE_KEY])


def test_if_modified_since_never_hides_a_change_within_the_same_second(client, monitor,
                                                                        directions):
    first = export(client, "xml", "bestmon1")
    pm_btc = directions["pm_btc"]
    pm_btc.rate_give = Decimal(99500)
    pm_btc.save()
    again = export(client, "xml", "bestmon1", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert again.status_code == 200
    assert xml_items(again.content)[PM_BTC]["in"] == "99500"
