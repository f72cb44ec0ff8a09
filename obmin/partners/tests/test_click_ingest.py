"""A click is never lost and never stored twice, whatever the database or Redis does.

The database is made really unreachable (the connection pointed at a path or port where none
is), Redis is the live one on this machine (skipped, saying so, where none answers).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest
import redis
from django.db import DatabaseError, connection
from django.utils import timezone

from obmin.lib import cache as cache_module
from obmin.partners import ingest
from obmin.partners.ingest import CLICK_GROUP, CLICK_STREAM, ClickData, clicks_ingest
from obmin.partners.models import Click
from obmin.partners.tests.conftest import CHROME
from obmin.testing.redis import redis_test_url

# A database of its own per test process (8..15, up to eight workers; PYTEST_WORKERS may
# raise scripts/test's two): parallel workers must not share the stream.
REDIS_TEST_URL = redis_test_url(
    8 + int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0) % 8)


def redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


needs_redis = pytest.mark.skipif(not redis_answers(),
                                 reason=f"no Redis answers at {REDIS_TEST_URL}")


def click(client, code: str = "alice001", **headers: str):
    headers.setdefault("HTTP_USER_AGENT", CHROME)
    return client.get(f"/ref/{code}/", QUERY_STRING="cur_from=PMUSD&cur_to=BTC", **headers)


def click_data(partner, user_hash: str = "f" * 16) -> ClickData:
    return ClickData(uid=ingest.new_click_uid(), created_at=timezone.now(),
                     code=partner.ref_code, partner_id=partner.pk, user_hash=user_hash,
                     is_bot=False, browser="Chrome 120", ip="203.0.113.0", referrer="",
                     query_string="", user_agent=CHROME, seen_today=None)


@contextlib.contextmanager
def database_unreachable() -> Iterator[None]:
    """The default connection points where no database is, until the block ends."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-obmin-dir/db.sqlite3"
    else:
        connection.settings_dict["HOST"], connection.settings_dict["PORT"] = "127.0.0.1", "1"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.fixture
def spool(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path / "spool"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("code_cached", [False, True])
def test_a_click_while_the_database_is_down_is_spooled_then_written_once(
        client, alice, pm_btc, spool, code_cached):
    if code_cached:
        click(client)  # the partner's code and the directions are in the cache now
        Click.objects.all().delete()
        client.cookies.clear()
    with database_unreachable():
        response = click(client, HTTP_REFERER="https://monitor.example/")
    assert response.status_code == 302
    assert response["Location"].startswith("/exchange/?cur_from=PMUSD")
    assert not Click.objects.exists()
    assert len((spool / "clicks.jsonl").read_text().splitlines()) == 1

    assert clicks_ingest() == 1
    stored = Click.objects.get()
    assert stored.partner_id == alice.pk
    assert stored.referrer == "https://monitor.example/"
    assert stored.ip == "127.0.0.0" and stored.is_unique
    assert clicks_ingest() == 0  # the spool is gone: nothing twice
    assert Click.objects.count() == 1
    assert not list(spool.iterdir())


@pytest.mark.django_db(transaction=True)
def test_a_replay_that_crashed_half_way_writes_each_click_once(alice, spool):
    clicks = [ClickData(uid=ingest.new_click_uid(), created_at=moment, code="alice001",
                        partner_id=None, user_hash="0123456789abcdef", is_bot=False,
                        browser="Chrome 120", ip="203.0.113.0", referrer="", query_string="",
                        user_agent=CHROME, seen_today=None)
              for moment in _moments(3)]
    spool.mkdir()
    lines = "".join(c.to_json() + "\n" for c in clicks)
    # The first two were written before a crash; their file was left renamed aside, and
    # the last line was cut short while being written.
    ingest.clicks_write(clicks[:2])
    (spool / "clicks.crashed.replaying").write_text(lines + lines[:40])
    assert clicks_ingest() == 1
    assert Click.objects.count() == 3
    # The first click of the visitor that day is the unique one.
    assert list(Click.objects.order_by("created_at").values_list("is_unique", flat=True)) == [
        True, False, False]


def _moments(count: int) -> list:
    from datetime import timedelta

    from django.utils import timezone

    start = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    return [start + timedelta(minutes=n) for n in range(count)]


@pytest.fixture
def stream(settings):
    settings.REDIS_URL = REDIS_TEST_URL
    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.delete(CLICK_STREAM)
    yield client
    client.delete(CLICK_STREAM)


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_with_redis_a_click_is_one_stream_entry_written_by_the_worker(client, alice, pm_btc,
                                                                       stream):
    response = click(client)
    assert response.status_code == 302
    assert stream.xlen(CLICK_STREAM) == 1
    assert not Click.objects.exists()  # not yet: the worker writes it
    assert clicks_ingest() == 1
    assert Click.objects.get().partner_id == alice.pk
    assert stream.xlen(CLICK_STREAM) == 0
    assert clicks_ingest() == 0


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_crash_before_acknowledging_redelivers_and_writes_once(
        client, alice, pm_btc, stream, monkeypatch):
    for _ in range(3):
        click(client)
    stream.xgroup_create(CLICK_STREAM, CLICK_GROUP, id="0", mkstream=True)
    # A worker reads the batch and commits it, then dies before XACK.
    [(_name, messages)] = stream.xreadgroup(CLICK_GROUP, "dead-worker", {CLICK_STREAM: ">"})
    ingest.clicks_write(ClickData.from_json(fields[b"click"]) for _id, fields in messages)
    assert Click.objects.count() == 3
    assert clicks_ingest() == 0  # not yet: the dead worker's batch is still claimed by it
    monkeypatch.setattr(ingest, "REDELIVER_AFTER_MS", 0)
    clicks_ingest()  # taken over and written again: the uids are there already
    assert Click.objects.count() == 3
    assert stream.xlen(CLICK_STREAM) == 0
    assert stream.xpending(CLICK_STREAM, CLICK_GROUP)["pending"] == 0


@pytest.mark.django_db(transaction=True)
def test_redis_down_falls_back_to_the_database(client, alice, pm_btc, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    assert click(client).status_code == 302
    assert Click.objects.filter(partner=alice).count() == 1


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_after_the_stream_failed_clicks_skip_it_for_a_while(client, alice, pm_btc, settings,
                                                            monkeypatch):
    # A pause longer than a loaded machine's direct INSERT (1 s elapsed inside it once).
    monkeypatch.setattr(cache_module, "PAUSE_AFTER_FAILURE_SECONDS", 60.0)
    live = redis.Redis.from_url(REDIS_TEST_URL)
    live.delete(CLICK_STREAM)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    assert ingest.click_submit(click_data(alice)) == "database"
    assert cache_module.redis_paused("redis://127.0.0.1:1/0")
    # The live server, as if it had just failed: within the pause clicks go straight in.
    settings.REDIS_URL = REDIS_TEST_URL
    cache_module.redis_failed(REDIS_TEST_URL)
    assert ingest.click_submit(click_data(alice)) == "database"
    cache_module.redis_pauses_clear()  # the pause is over
    assert ingest.click_submit(click_data(alice)) == "stream"
    assert live.xlen(CLICK_STREAM) == 1
    live.delete(CLICK_STREAM)


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_click_after_redis_closed_the_connection_still_goes_to_the_stream(alice, stream):
    assert ingest.click_submit(click_data(alice)) == "stream"
    # Redis closes the request side's connection (a restart, a proxy's idle timeout).
    request_side = ingest._stream_connection(REDIS_TEST_URL)
    request_side.send_command("CLIENT", "ID")
    stream.client_kill_filter(_id=request_side.read_response())
    assert ingest.click_submit(click_data(alice)) == "stream"  # opened again, not skipped
    assert stream.xlen(CLICK_STREAM) == 2
    assert not cache_module.redis_paused(REDIS_TEST_URL)


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_round_writes_the_stream_up_to_where_it_found_its_end(alice, stream, monkeypatch):
    monkeypatch.setattr(ingest, "BATCH", 2)
    for _ in range(3):
        ingest.click_submit(click_data(alice))
    assert clicks_ingest() == 3  # a full batch is followed by the next
    ingest.click_submit(click_data(alice))
    write = ingest._write_messages
    arrived = []

    def write_while_a_click_arrives(client, messages):
        if not arrived:
            arrived.append(ingest.click_submit(click_data(alice)))
        return write(client, messages)

    monkeypatch.setattr(ingest, "_write_messages", write_while_a_click_arrives)
    # The round read one click (less than a batch: the end); the one that came meanwhile waits
    # for the next round rather than making a batch of its own at once.
    assert clicks_ingest() == 1
    assert arrived == ["stream"]
    assert stream.xlen(CLICK_STREAM) == 1
    monkeypatch.setattr(ingest, "_write_messages", write)
    assert clicks_ingest() == 1
    assert Click.objects.count() == 5


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_batch_the_database_refused_is_written_on_the_next_round(client, alice, pm_btc,
                                                                    stream):
    for _ in range(2):
        click(client)
    with database_unreachable(), pytest.raises(DatabaseError):
        clicks_ingest()  # read from the stream, the write failed: pending for this worker
    assert stream.xpending(CLICK_STREAM, CLICK_GROUP)["pending"] == 2
    # The next round takes its own pending batch back at once, not after REDELIVER_AFTER_MS.
    assert clicks_ingest() == 2
    assert Click.objects.count() == 2
    assert stream.xpending(CLICK_STREAM, CLICK_GROUP)["pending"] == 0


@pytest.mark.django_db
def test_a_batch_holding_a_click_twice_or_a_stored_one_writes_each_once(alice):
    first, second = click_data(alice, "a" * 16), click_data(alice, "b" * 16)
    assert ingest.clicks_write([first]) == 1
    # Re-delivered with a new one, and the new one twice (two rounds read it): each once.
    assert ingest.clicks_write([first, second, second]) == 1
    assert sorted(Click.objects.values_list("user_hash", "is_unique")) == [
        ("a" * 16, True), ("b" * 16, True)]
