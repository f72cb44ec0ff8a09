"""Test keys answer from the sandbox: realistic, the same every time, and never real data."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from obmin.exchange.models import Exchange
from obmin.partner_api.services import apikey_create
from obmin.partners.models import Click
from obmin.rewards.models import Payout
from obmin.rewards.selectors import partner_balance

JUNE = {"start_time": 1_717_200_000, "end_time": 1_719_791_999}  # June 2024, inclusive


def test_sandbox_answers_every_method_realistically(api, alice_test_key):
    _r, links = api(alice_test_key, "get_links", **JUNE)
    clicks = links["data"]["items"]
    assert 300 < len(clicks) < 2000
    assert all(JUNE["start_time"] <= c["time"] <= JUNE["end_time"] for c in clicks.values())
    assert list(clicks) == [str(c["id"]) for c in clicks.values()]
    _r, exchanges = api(alice_test_key, "get_exchanges", **JUNE)
    items = list(exchanges["data"]["items"].values())
    assert 20 < len(items) < 130
    # Over the whole made-up history (a month of a random key may hold no cancellation).
    _r, history = api(alice_test_key, "get_exchanges", start_time=0)
    assert {i["status"] for i in history["data"]["items"].values()} >= {"success", "cancelled"}
    for item in items:
        assert item["exchange_success"] == (1 if item["status"] == "success" else 0)
        assert item["statuses"][0]["status"] == "new"
        assert item["statuses"][-1]["status"] == item["status"]
        # Exchanges come from the sandbox's own visitors.
        assert any(c["user_hash"] == item["user_hash"] for c in clicks.values())
    _r, payouts = api(alice_test_key, "get_payouts", start_time=0)
    assert len(payouts["data"]["items"]) >= 12
    _r, info = api(alice_test_key, "get_info")
    assert info["data"]["balance"] >= info["data"]["min_payout"]
    assert len(info["data"]["items"]) == 3


def test_sandbox_is_deterministic_per_key(api, alice, alice_test_key):
    first = api(alice_test_key, "get_exchanges", **JUNE)[0].body
    again = api(alice_test_key, "get_exchanges", **JUNE)[0].body
    assert first == again
    _other, other_key = apikey_create(partner=alice, test=True)
    assert api(other_key, "get_exchanges", **JUNE)[0].body != first


def test_sandbox_pages_and_filters_like_the_real_thing(api, alice_test_key):
    _r, whole = api(alice_test_key, "get_links", **JUNE)
    ids = list(whole["data"]["items"])
    _r, page = api(alice_test_key, "get_links", offset=5, limit=7, **JUNE)
    assert list(page["data"]["items"]) == ids[5:12]
    some = next(iter(whole["data"]["items"].values()))
    _r, by_ip = api(alice_test_key, "get_links", ip=some["ip"], **JUNE)
    assert by_ip["data"]["items"] and all(
        c["ip"] == some["ip"] for c in by_ip["data"]["items"].values())


def test_sandbox_never_reads_or_writes_partner_data(api, history, alice, alice_test_key,
                                                    usdt_method):
    balance = partner_balance(alice)
    counts = (Click.objects.count(), Exchange.objects.count(), Payout.objects.count())
    api(alice_test_key, "get_info")  # warms the key's last-used time and the settings cache
    with CaptureQueriesContext(connection) as queries:
        for method in ("get_info", "get_links", "get_exchanges", "get_payouts"):
            _r, body = api(alice_test_key, method, start_time=0)
            assert body["error"] == 0
            assert b'"user_hash":"a0"' not in _r.body and b'"account":"TQalice"' not in _r.body
        _r, body = api(alice_test_key, "add_payout", method_id="1", account="TQsandbox")
        assert body["error"] == 0 and isinstance(body["data"]["payout_id"], int)
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    assert "partner_api_apikey" in tables
    for table in ("partners_click", "exchange_exchange", "rewards_"):
        assert table not in tables
    assert (Click.objects.count(), Exchange.objects.count(), Payout.objects.count()) == counts
    assert partner_balance(alice) == balance


def test_sandbox_add_payout_checks_parameters(api, alice_test_key):
    _r, body = api(alice_test_key, "add_payout", method_id="42", account="x")
    assert body["error"] == 4 and body["error_text"].startswith("method_id")
    _r, body = api(alice_test_key, "add_payout", method_id="1", account="")
    assert body["error"] == 4 and body["error_text"].startswith("account")
