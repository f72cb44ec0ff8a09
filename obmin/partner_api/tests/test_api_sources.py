"""get_links and get_exchanges name each item's traffic source (sub1..sub5, country), filter
by sub1, and get_exchanges serves incremental sync (updated_time, updated_since)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from obmin.exchange.models import Exchange
from obmin.exchange.services import exchange_set_status
from obmin.lib.timeutil import from_unix, to_unix
from obmin.partner_api.tests.conftest import T0, make_click, make_exchange

SOURCE = {"sub1": "tg", "sub2": "post-9", "sub3": "", "sub4": "", "sub5": "z",
          "country": "UA"}


@pytest.fixture
def tagged(history, alice, pm_btc):
    click = make_click(alice, T0 + 50, user_hash="t1", **SOURCE)
    exchange = make_exchange(pm_btc, alice, T0 + 300, "100")
    Exchange.objects.filter(pk=exchange.pk).update(**SOURCE)
    return click, exchange


def test_items_carry_the_source(api, tagged, alice_key):
    click, exchange = tagged
    links = api(alice_key, "get_links")[1]["data"]["items"]
    assert {k: links[str(click.pk)][k] for k in SOURCE} == SOURCE
    assert all(item["sub1"] == "" and item["country"] == "" for key, item in links.items()
               if key != str(click.pk))
    exchanges = api(alice_key, "get_exchanges")[1]["data"]["items"]
    assert {k: exchanges[str(exchange.pk)][k] for k in SOURCE} == SOURCE


def test_sub1_filter(api, tagged, alice_key):
    click, exchange = tagged
    assert list(api(alice_key, "get_links", sub1="tg")[1]["data"]["items"]) == [str(click.pk)]
    assert list(api(alice_key, "get_exchanges", sub1="tg")[1]["data"]["items"]) == [
        str(exchange.pk)]
    assert api(alice_key, "get_links", sub1="other")[1]["data"]["items"] == {}
    # Combined with the window and paging, as every filter is.
    assert api(alice_key, "get_links", sub1="tg", start_time=T0 + 51)[1]["data"]["items"] == {}


@pytest.mark.parametrize(("method", "options", "name"), [
    ("get_links", {"sub1": "x" * 65}, "sub1"),
    ("get_exchanges", {"sub1": "bad\x01"}, "sub1"),
    ("get_exchanges", {"sub1": " padded"}, "sub1"),
    ("get_exchanges", {"updated_since": "yesterday"}, "updated_since"),
    ("get_exchanges", {"updated_since": "-5"}, "updated_since"),
    ("get_exchanges", {"updated_since": "99999999999999"}, "updated_since"),
])
def test_bad_values_are_error_4_naming_the_parameter(api, history, alice_key, method, options,
                                                     name):
    response, body = api(alice_key, method, **options)
    assert response.status_code == 200
    assert body["error"] == 4 and body["error_text"].startswith(f"{name}: "), body


def test_updated_time_is_the_last_change(api, history, alice_key):
    success, cancelled, new = history["exchanges"]
    items = api(alice_key, "get_exchanges")[1]["data"]["items"]
    for exchange in (success, cancelled, new):
        exchange.refresh_from_db()
        assert items[str(exchange.pk)]["updated_time"] == to_unix(exchange.updated_at)


def test_an_accounting_script_sees_a_success_weeks_after_creation(api, alice, pm_btc,
                                                                   alice_key, program):
    # Made weeks ago, left unpaid; the script has polled since and seen it.
    weeks_ago = to_unix(timezone.now() - timedelta(weeks=6))
    late = make_exchange(pm_btc, alice, weeks_ago, "2000")
    Exchange.objects.filter(pk=late.pk).update(updated_at=from_unix(weeks_ago))
    other = make_exchange(pm_btc, alice, weeks_ago + 60, "3000")
    Exchange.objects.filter(pk=other.pk).update(updated_at=from_unix(weeks_ago + 60))
    first = api(alice_key, "get_exchanges", updated_since=0)[1]["data"]["items"]
    assert list(first) == [str(late.pk), str(other.pk)]  # in the order they changed
    last_seen = max(item["updated_time"] for item in first.values())
    # Nothing changed since: the next poll (after the last second seen) gets nothing.
    again = api(alice_key, "get_exchanges", updated_since=last_seen + 1)[1]["data"]["items"]
    assert again == {}
    # Today the old exchange succeeds and its reward is credited.
    exchange_set_status(exchange_id=late.pk, status="success")
    polled = api(alice_key, "get_exchanges", updated_since=last_seen + 1)[1]["data"]["items"]
    assert list(polled) == [str(late.pk)]
    item = polled[str(late.pk)]
    assert item["time"] == weeks_ago  # created then...
    assert item["exchange_success"] == 1 and item["accrued"] == 1 and item["partner_reward"] > 0
    assert item["updated_time"] >= to_unix(timezone.now()) - 60  # ...changed now
    assert [s["status"] for s in item["statuses"]] == ["new", "success"]
    # A window on creation time still narrows (combined, not ignored).
    assert api(alice_key, "get_exchanges", updated_since=last_seen + 1,
               end_time=weeks_ago - 1)[1]["data"]["items"] == {}
    # Without updated_since: newest first by creation, every exchange.
    assert list(api(alice_key, "get_exchanges")[1]["data"]["items"]) == [
        str(other.pk), str(late.pk)]


def test_bob_never_sees_alices_updates(api, history, bob_key, alice):
    items = api(bob_key, "get_exchanges", updated_since=0)[1]["data"]["items"]
    assert list(items) == [str(history["bob_exchange"].pk)]


def test_the_sandbox_answers_the_same_fields_and_filters(api, alice_test_key):
    start, end = "1717200000", "1717804799"  # a week
    links = api(alice_test_key, "get_links", start_time=start, end_time=end)[1]["data"]["items"]
    assert links and all({"sub1", "sub2", "sub3", "sub4", "sub5", "country"} <= set(item)
                         for item in links.values())
    assert any(item["sub1"] for item in links.values())
    assert any(item["country"] == "UA" for item in links.values())
    tagged = api(alice_test_key, "get_links", start_time=start, end_time=end,
                 sub1="tg-channel")[1]["data"]["items"]
    assert tagged and all(item["sub1"] == "tg-channel" for item in tagged.values())
    exchanges = api(alice_test_key, "get_exchanges", start_time=start,
                    end_time=end)[1]["data"]["items"]
    assert exchanges
    for item in exchanges.values():
        assert item["updated_time"] == item["statuses"][-1]["time"] >= item["time"]
    since = int(start) + 3 * 86_400
    changed = api(alice_test_key, "get_exchanges", updated_since=since,
                  end_time=end)[1]["data"]["items"]
    expected = sorted((i for i in exchanges.values() if i["updated_time"] >= since),
                      key=lambda i: (i["updated_time"], i["id"]))
    assert [i["id"] for i in changed.values()] == [i["id"] for i in expected]


def test_the_docs_and_openapi_show_the_new_parameters_and_fields(client):
    page = client.get("/partners/api/").content.decode()
    for name in ("updated_since", "updated_time", "sub1", "sub5", "country"):
        assert name in page, name
    document = client.get("/service/partner/openapi.json").json()
    params = {p["name"] for p in document["paths"][next(iter(document["paths"]))]["get"]
              ["parameters"]}
    assert {"sub1", "updated_since"} <= params
    schemas = document["components"]["schemas"]
    exchange = schemas["get_exchanges_data"]["properties"]["items"]["additionalProperties"]
    click = schemas["get_links_data"]["properties"]["items"]["additionalProperties"]
    assert {"sub1", "sub5", "country", "updated_time"} <= set(exchange["properties"])
    assert {"sub1", "sub5", "country"} <= set(click["properties"])
