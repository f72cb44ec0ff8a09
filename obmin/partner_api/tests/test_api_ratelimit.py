"""Rate limits: per key, and per address for bad keys; 429 + Retry-After + envelope code 5."""

from __future__ import annotations

import uuid

import pytest

from obmin.testing.redis import redis_test_answers, redis_test_url

REDIS_URL = redis_test_url(0)


def assert_limited(response, body) -> None:
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert body["status"] == "error" and body["error"] == 5 and body["data"] == {}
    assert body["error_text"]


def test_per_key_limit(api, settings, alice_key, bob_key):
    # An hour's window: a test never straddles two windows.
    settings.PARTNER_API_RATE = "3/h"
    for _ in range(3):
        assert api(alice_key, "get_info")[1]["error"] == 0
    assert_limited(*api(alice_key, "get_links"))
    # Another key, even from the same address, has its own budget.
    assert api(bob_key, "get_info")[1]["error"] == 0


def test_bad_keys_are_limited_per_address(api, client, settings, alice_key):
    settings.PARTNER_API_BAD_KEY_RATE = "2/h"
    for _ in range(2):
        assert api("obm_live_guess", "get_info")[1]["error"] == 1
    assert_limited(*api("obm_live_guess2", "get_info"))
    # A good key from that address is still served: only failures count against it.
    assert api(alice_key, "get_info")[1]["error"] == 0


@pytest.mark.skipif(not redis_test_answers(), reason=f"no Redis at {REDIS_URL}")
def test_limit_is_shared_through_redis(api, settings, alice_key):
    """With REDIS_URL every process counts in the same place: a second client sees the count."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": REDIS_URL,
                                   "KEY_PREFIX": f"obmin-test-{uuid.uuid4().hex}"}}
    settings.PARTNER_API_RATE = "2/h"
    from django.test import Client

    from obmin.partner_api.tests.conftest import Api

    other = Api(Client())
    assert api(alice_key, "get_info")[1]["error"] == 0
    assert other(alice_key, "get_info")[1]["error"] == 0
    assert_limited(*other(alice_key, "get_info"))
    from django.core.cache import caches

    assert caches["default"].__class__.__name__ == "RedisCache"


def test_refused_addresses_count_as_bad_keys(api, settings, alice):
    from obmin.partner_api.services import apikey_create

    settings.PARTNER_API_BAD_KEY_RATE = "2/h"
    _key, raw = apikey_create(partner=alice, allowed_ips=["192.0.2.0/24"])
    for _ in range(2):
        assert api(raw, "get_info")[1]["error"] == 2
    assert_limited(*api(raw, "get_info"))
