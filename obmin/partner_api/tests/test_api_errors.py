"""Every error code keeps the envelope: bad keys, revoked keys, IP lists, methods, parameters."""

from __future__ import annotations

import pytest

from obmin.partner_api.models import ApiKey
from obmin.partner_api.services import apikey_create, apikey_revoke
from obmin.partner_api.tests.conftest import URL, parse
from obmin.testing.factories import usable_wallet


def assert_error(response, body, code: int, status: int = 200) -> str:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert body == {"status": "error", "error": code, "error_text": body["error_text"],
                    "data": {}}
    assert body["error_text"]
    return body["error_text"]


@pytest.mark.parametrize("key", ["", "nonsense", "obm_live_" + "x" * 43, "x" * 5000])
def test_bad_key_is_error_1(api, db, key):
    assert_error(*api(key, "get_info"), 1)


def test_no_key_at_all(client, db):
    response = client.get(URL, {"api_action": "pp", "method": "get_info"})
    assert_error(response, parse(response), 1)


def test_revoked_key_is_error_1(api, alice, alice_key):
    assert api(alice_key, "get_info")[1]["error"] == 0
    apikey_revoke(partner=alice, key_id=ApiKey.objects.get(partner=alice).pk)
    assert "revoked" in assert_error(*api(alice_key, "get_info"), 1)


def test_blocked_partner_is_error_1(api, alice, alice_key):
    alice.is_blocked = True
    alice.save()
    assert_error(*api(alice_key, "get_links"), 1)


def test_api_switched_off_is_error_1(api, alice_key, settings):
    settings.PARTNER_API_ENABLED = False
    assert "disabled" in assert_error(*api(alice_key, "get_info"), 1)


def test_ip_allow_list(api, client, alice):
    _key, raw = apikey_create(partner=alice, allowed_ips=["192.0.2.0/24", "2001:db8::1"])
    # The test client comes from 127.0.0.1.
    assert "127.0.0.1" in assert_error(*api(raw, "get_info"), 2)
    response = client.get(URL, {"api_action": "pp", "api_key": raw, "method": "get_info"},
                          REMOTE_ADDR="192.0.2.77")
    assert parse(response)["error"] == 0
    response = client.get(URL, {"api_action": "pp", "api_key": raw, "method": "get_info"},
                          REMOTE_ADDR="2001:db8::1")
    assert parse(response)["error"] == 0


def test_bad_key_wins_over_ip(api, client, db):
    response = client.get(URL, {"api_action": "pp", "api_key": "nope", "method": "get_info"},
                          REMOTE_ADDR="192.0.2.1")
    assert_error(response, parse(response), 1)


@pytest.mark.parametrize("action", ["", "PP", "xx", "pp "])
def test_unknown_api_action_is_error_3(api, alice_key, action):
    assert "api_action" in assert_error(*api(alice_key, "get_info", api_action=action), 3)


@pytest.mark.parametrize("method", ["", "get_everything", "GET_INFO", "__init__", "info"])
def test_unknown_method_is_error_3(api, alice_key, method):
    assert "method" in assert_error(*api(alice_key, method), 3)


@pytest.mark.parametrize(("name", "value"), [
    ("start_time", "yesterday"), ("start_time", "-1"), ("end_time", "1.5"),
    ("end_time", "99999999999999"), ("limit", "0"), ("limit", "abc"), ("offset", "-3"),
    ("offset", str(2**40)), ("start_time", "１２"),
])
@pytest.mark.parametrize("method", ["get_exchanges", "get_links", "get_payouts"])
def test_bad_parameter_is_error_4_naming_it(api, alice_key, method, name, value):
    text = assert_error(*api(alice_key, method, **{name: value}), 4)
    assert text.startswith(name + ":")


def test_bad_ip_filter_is_error_4(api, alice_key):
    assert assert_error(*api(alice_key, "get_links", ip="300.1.1.1"), 4).startswith("ip:")


@pytest.mark.parametrize(("options", "param"), [
    ({}, "method_id"), ({"method_id": "999", "account": "x"}, "method_id"),
    ({"method_id": "abc", "account": "x"}, "method_id"),
])
def test_add_payout_bad_method(api, alice_key, usdt_method, options, param):
    assert assert_error(*api(alice_key, "add_payout", **options), 4).startswith(param)


def test_add_payout_empty_account(api, alice_key, usdt_method):
    text = assert_error(*api(alice_key, "add_payout", method_id=usdt_method.pk, account=" "), 4)
    assert text.startswith("account")


def test_add_payout_below_minimum(api, alice, alice_key, usdt_method, program):
    usable_wallet(alice, usdt_method.pk, "TQ1")
    text = assert_error(*api(alice_key, "add_payout", method_id=usdt_method.pk,
                             account="TQ1"), 4)
    assert text.startswith("balance")


def test_other_http_methods_are_refused(client, alice_key):
    assert client.put(URL).status_code == 405


def test_last_used_is_recorded_at_most_once_a_minute(api, alice, alice_key,
                                                     django_assert_num_queries):
    key = ApiKey.objects.get(partner=alice)
    assert key.last_used_at is None
    api(alice_key, "get_links")
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    # Within the minute: the key lookup and the clicks, and no write.
    with django_assert_num_queries(2):
        api(alice_key, "get_links")
    key.refresh_from_db()
    assert key.last_used_at == first
