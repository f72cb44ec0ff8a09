"""Several workers on one click stream: a dead worker's unacknowledged batch is taken over by
another, and readers left by stopped workers are forgotten once they hold nothing."""

from __future__ import annotations

import pytest

from obmin.partners import ingest
from obmin.partners.ingest import CLICK_GROUP, CLICK_STREAM, clicks_ingest
from obmin.partners.models import Click
from obmin.partners.tests.test_click_ingest import (
    click_data,
    needs_redis,
    stream,  # noqa: F401 (a fixture)
)

pytestmark = [needs_redis, pytest.mark.django_db(transaction=True)]


def queue(redis_stream, partner, count: int) -> None:
    for n in range(count):
        redis_stream.xadd(CLICK_STREAM, {"click": click_data(partner, f"{n:016x}").to_json()})


def test_a_dead_readers_batch_is_taken_over(alice, stream, monkeypatch):  # noqa: F811
    stream.xgroup_create(CLICK_STREAM, CLICK_GROUP, id="0", mkstream=True)
    queue(stream, alice, 5)
    # A worker read them and died before writing.
    stream.xreadgroup(CLICK_GROUP, "host-dead", {CLICK_STREAM: ">"}, count=10)
    assert clicks_ingest() == 0  # too fresh: its reader may still be at work
    monkeypatch.setattr(ingest, "REDELIVER_AFTER_MS", 0)
    assert clicks_ingest() == 5
    assert Click.objects.count() == 5
    assert stream.xpending(CLICK_STREAM, CLICK_GROUP)["pending"] == 0


def test_stopped_readers_holding_nothing_are_forgotten(alice, stream,  # noqa: F811
                                                       monkeypatch):
    stream.xgroup_create(CLICK_STREAM, CLICK_GROUP, id="0", mkstream=True)
    queue(stream, alice, 2)
    stream.xreadgroup(CLICK_GROUP, "host-holding", {CLICK_STREAM: ">"}, count=1)
    stream.xgroup_createconsumer(CLICK_STREAM, CLICK_GROUP, "host-idle")
    assert ingest.click_readers_forget() == 0  # not idle for an hour yet
    monkeypatch.setattr(ingest, "FORGET_READER_AFTER_MS", -1)
    assert ingest.click_readers_forget() == 1
    names = {reader["name"] for reader in stream.xinfo_consumers(CLICK_STREAM, CLICK_GROUP)}
    assert names == {b"host-holding"}  # its click is still pending: kept
