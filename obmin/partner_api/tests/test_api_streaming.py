"""Large histories are streamed whole: every item, parsed as one JSON document."""

from __future__ import annotations

from datetime import timedelta

import pytest

from obmin.lib.timeutil import from_unix
from obmin.partner_api.tests.conftest import T0, URL, make_exchange
from obmin.partners.models import Click


def test_thousands_of_clicks_all_arrive(api, alice, alice_key):
    start = from_unix(T0)
    Click.objects.bulk_create(
        Click(partner=alice, created_at=start + timedelta(seconds=n), user_hash=f"h{n}",
              ip="192.0.2.0")
        for n in range(5000))
    response, body = api(alice_key, "get_links")
    assert response.streaming
    items = body["data"]["items"]
    assert len(items) == 5000
    # Newest first, as Premium lists them.
    assert [item["user_hash"] for item in items.values()] == [f"h{n}" for n in
                                                               reversed(range(5000))]
    # A page from the middle.
    _r, body = api(alice_key, "get_links", offset=4990, limit=20)
    assert [i["user_hash"] for i in body["data"]["items"].values()] == [
        f"h{n}" for n in reversed(range(10))]


def test_exchange_histories_are_read_per_chunk(api, alice, alice_key, pm_btc, program,
                                               django_assert_num_queries):
    from obmin.partner_api import live

    for n in range(7):
        make_exchange(pm_btc, alice, T0 + n, "100", status="success" if n % 2 else None)
    api(alice_key, "get_info")  # the first request records last_used_at; this one reads only
    chunk, live.CHUNK = live.CHUNK, 3
    try:
        # key + currencies + exchanges + 3 chunks of status history; never one per exchange.
        with django_assert_num_queries(6):
            _r, body = api(alice_key, "get_exchanges")
    finally:
        live.CHUNK = chunk
    items = list(body["data"]["items"].values())
    assert len(items) == 7
    assert [len(i["statuses"]) for i in items] == [1, 2, 1, 2, 1, 2, 1]


def test_streams_without_server_side_cursors_too(api, alice, alice_key):
    """Behind pgbouncer's transaction pooling server-side cursors are off; answers are whole."""
    from django.db import connection

    Click.objects.bulk_create(Click(partner=alice, created_at=from_unix(T0 + n), user_hash="x")
                              for n in range(2500))
    before = dict(connection.settings_dict)
    connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = True
    try:
        _r, body = api(alice_key, "get_links")
    finally:
        connection.settings_dict.clear()
        connection.settings_dict.update(before)
    assert len(body["data"]["items"]) == 2500


def _clicks(partner, count: int) -> None:
    Click.objects.bulk_create(
        Click(partner=partner, created_at=from_unix(T0 + n), user_hash=f"h{n}")
        for n in range(count))


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_every_item_arrives_in_order(api, alice, alice_key, monkeypatch):
    """As answers are served (autocommit): on PostgreSQL the rows are streamed, several
    chunks of them here."""
    from obmin.partner_api import live

    monkeypatch.setattr(live, "CHUNK", 100)
    _clicks(alice, 1234)
    _r, body = api(alice_key, "get_links")
    assert [i["user_hash"] for i in body["data"]["items"].values()] == [
        f"h{n}" for n in reversed(range(1234))]
    _r, body = api(alice_key, "get_links", offset=1200, limit=50)
    assert [i["user_hash"] for i in body["data"]["items"].values()] == [
        f"h{n}" for n in reversed(range(34))]


@pytest.mark.django_db(transaction=True)
def test_an_answer_abandoned_half_way_leaves_the_connection_usable(client, api, alice,
                                                                  alice_key, monkeypatch):
    """A script that stops reading, or a client gone: the rest of the query is dropped and the
    process's next answers are whole."""
    from obmin.partner_api import live

    monkeypatch.setattr(live, "CHUNK", 10)
    _clicks(alice, 3000)
    response = client.get(URL, {"api_action": "pp", "api_key": alice_key,
                                "method": "get_links"})
    first = next(iter(response.streaming_content))
    assert first.count(b'"user_hash"') == 500  # one chunk of items written, most still to come
    response.close()  # as the server does when the client went away
    assert Click.objects.filter(partner=alice).count() == 3000
    _r, body = api(alice_key, "get_links", start_time=T0, end_time=T0 + 9)
    assert len(body["data"]["items"]) == 10
