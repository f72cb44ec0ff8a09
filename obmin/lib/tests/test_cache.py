"""`ResilientRedisCache`: a Redis outage is a cache miss, never an error a customer sees."""

from __future__ import annotations

import logging
import uuid
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django_ratelimit.core import get_usage

from obmin.lib import cache as resilient
from obmin.lib.cache import ResilientRedisCache
from obmin.monitoring import snapshot
from obmin.partner_api.services import apikey_create
from obmin.partners.models import Click
from obmin.testing.redis import TEST_REDIS, redis_test_answers, redis_test_url

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/120.0.0.0 Safari/537.36")


def _redis_answers() -> bool:
    return redis_test_answers(timeout=0.2)


def _backend(location: str, **params) -> ResilientRedisCache:
    return ResilientRedisCache(location, params)


@pytest.fixture
def redis_down(settings):
    """The site's cache is Redis, and Redis is down."""
    settings.CACHES = {"default": {"BACKEND": "obmin.lib.cache.ResilientRedisCache",
                                   "LOCATION": DEAD_REDIS}}
    snapshot._memo = None  # the export must be built now, not served from another test's copy
    yield
    snapshot._memo = None


@pytest.fixture
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(resilient, "_warned_at", None)


def test_every_operation_is_a_miss_while_redis_is_down(fresh_warnings):
    down = _backend(DEAD_REDIS)
    assert down.get("k") is None and down.get("k", "fallback") == "fallback"
    assert down.get_many(["a", "b"]) == {}
    assert down.has_key("k") is False
    assert down.set("k", 1) is None
    assert down.set_many({"a": 1, "b": 2}) == ["a", "b"]  # the keys not stored
    assert down.add("k", 1) is True  # so rate-limit counters fail open
    for count in (down.incr, down.decr):
        with pytest.raises(ValueError):
            count("k")  # as for a missing key: callers start a new counter
    assert down.delete("k") is False
    assert down.delete_many(["a", "b"]) is None
    assert down.touch("k") is False
    assert down.clear() is None
    assert down.get_or_set("k", "computed") == "computed"


def test_an_outage_logs_one_warning_without_the_password(fresh_warnings, caplog):
    down = _backend("redis://:s3cret-pass@127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING, logger="obmin.lib.cache"):
        for _ in range(50):
            down.get("k")
            down.set("k", 1)
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "Redis cache unavailable" in message and "ConnectionError on get" in message
    assert "s3cret" not in message


def test_short_socket_timeouts_by_default_and_overridable():
    assert _backend(DEAD_REDIS)._options == {"socket_connect_timeout": 0.5,
                                             "socket_timeout": 0.5}
    tuned = _backend(DEAD_REDIS, OPTIONS={"socket_timeout": 2})
    assert tuned._options["socket_timeout"] == 2


@pytest.mark.skipif(not _redis_answers(), reason=f"no Redis answers at {TEST_REDIS}")
def test_a_live_redis_works_as_usual():
    live = _backend(redis_test_url(0), KEY_PREFIX=f"obmin-test-{uuid.uuid4().hex}")
    try:
        assert live.get("k") is None
        live.set("k", {"amount": Decimal("1.5")}, 30)
        assert live.get("k") == {"amount": Decimal("1.5")}
        assert live.add("k", "other") is False and live.get("k") == {"amount": Decimal("1.5")}
        with pytest.raises(ValueError):
            live.incr("counter")  # a real miss still raises, as Django's backend does
        assert live.add("counter", 1, 30) is True
        assert live.incr("counter", 4) == 5 and live.decr("counter") == 4
        assert live.get_many(["k", "counter", "none"]) == {"k": {"amount": Decimal("1.5")},
                                                           "counter": 4}
        assert live.has_key("counter") and live.delete("counter") is True
        assert not live.has_key("counter")
    finally:
        live.delete_many(["k", "counter"])  # never clear(): the database may be shared


@pytest.mark.skipif(not _redis_answers(), reason=f"no Redis answers at {TEST_REDIS}")
def test_after_a_failure_the_server_is_left_alone_for_a_moment_but_deletions_try():
    location = redis_test_url(14)
    live, key = _backend(location), f"obmin-test-pause-{uuid.uuid4()}"
    live.set(key, 1)
    resilient.redis_failed(location)  # as a timeout in a Redis stall would
    assert live.get(key) is None  # a miss at once, Redis not asked
    live.set(key, 2)  # not stored
    with pytest.raises(ValueError):
        live.incr(key)
    assert live.delete(key) is True  # a change must not leave a stale entry behind
    resilient.redis_pauses_clear()  # the pause is over
    assert live.get(key) is None  # deleted, and the paused set stored nothing
    live.set(key, 3)
    assert live.get(key) == 3
    live.delete(key)


def test_rate_limits_let_requests_through_while_redis_is_down(redis_down, fresh_warnings):
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7")
    for _ in range(5):
        usage = get_usage(request, group="test", key="ip", rate="1/m", increment=True)
        assert usage is not None and not usage["should_limit"]


# --- what customers and partners get while Redis is down --------------------------------------


@pytest.mark.django_db
def test_a_referral_link_redirects_and_records_the_click(client, redis_down, alice, pm_btc):
    response = client.get("/ref/alice001/", QUERY_STRING="cur_from=PMUSD&cur_to=BTC",
                          HTTP_USER_AGENT=CHROME)
    assert response.status_code == 302
    assert response["Location"] == "/exchange/?cur_from=PMUSD&cur_to=BTC"
    assert list(Click.objects.values_list("partner_id", "is_unique")) == [(alice.pk, True)]


@pytest.mark.django_db
def test_the_rate_export_is_built_from_the_database(client, redis_down, alice, pm_btc):
    response = client.get("/service/export/xml/alice001")
    assert response.status_code == 200
    [item] = ET.fromstring(response.content).findall("item")
    assert (item.findtext("from"), item.findtext("to"), item.findtext("in"),
            item.findtext("out")) == ("PMUSD", "BTC", "100000", "1")


@pytest.mark.django_db
def test_the_partner_api_answers_success(client, redis_down, alice):
    _key, raw = apikey_create(partner=alice)
    response = client.get("/service/partner/api.php",
                          {"api_action": "pp", "api_key": raw, "method": "get_info"})
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["error"], body["error_text"]) == ("success", 0, "")
