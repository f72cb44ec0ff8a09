"""Sub-IDs, UTM tags and the country are kept with each click, through every way a click takes
to the database, and odd values never cost a redirect."""

from __future__ import annotations

from urllib.parse import urlencode

import hypothesis
import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from obmin.partners.ingest import ClickData, clicks_ingest, clicks_write, new_click_uid
from obmin.partners.models import Click
from obmin.partners.sources import clean_value, source_of
from obmin.partners.tests.conftest import CHROME, GOOGLEBOT
from obmin.partners.tests.test_click_ingest import (
    database_unreachable,
    needs_redis,
    stream,  # noqa: F401 (a fixture)
)

SOURCE = {"sub1": "fb-campaign-7", "sub2": "ad 12", "sub3": "Київ", "sub4": "x", "sub5": "5",
          "utm_source": "bestchange", "utm_medium": "cpc", "utm_campaign": "spring"}
FIELDS = tuple(SOURCE)


def click(client, params: dict[str, str] | str, code: str = "alice001", **headers: str):
    headers.setdefault("HTTP_USER_AGENT", CHROME)
    headers.setdefault("REMOTE_ADDR", "8.8.8.8")
    query = params if isinstance(params, str) else urlencode(
        {"cur_from": "PMUSD", "cur_to": "BTC", **params})
    return client.get(f"/ref/{code}/", QUERY_STRING=query, **headers)


def source_of_row(row: Click) -> dict[str, str]:
    return {name: getattr(row, name) for name in FIELDS}


# --- the direct INSERT (no Redis) ---------------------------------------------------------


@pytest.mark.django_db
def test_sub_ids_and_utm_tags_are_kept_with_the_click(client, alice, pm_btc):
    response = click(client, SOURCE)
    assert response.status_code == 302
    row = Click.objects.get()
    assert source_of_row(row) == SOURCE
    # The country of the whole address, though only the masked one is kept.
    assert (row.ip, row.country) == ("8.8.8.0", "US")


@pytest.mark.django_db
def test_without_a_source_the_fields_are_empty(client, alice, pm_btc):
    click(client, {}, REMOTE_ADDR="10.1.2.3")
    row = Click.objects.get()
    assert source_of_row(row) == dict.fromkeys(FIELDS, "")
    assert row.country == ""  # a private address has none


@pytest.mark.django_db
def test_ipv6_visitor_gets_its_country(client, alice, pm_btc):
    click(client, {}, REMOTE_ADDR="2a00:1450:4001:82b::200e")
    row = Click.objects.get()
    assert row.country == "IE" and row.ip == "2a00:1450:4001::"


@pytest.mark.django_db
def test_odd_values_are_cleaned_cut_or_dropped(client, alice, pm_btc):
    query = ("sub1=" + "A" * 100 + "&sub2=%00%01tab%09bed%7F&sub3=%E2%80%8Bzero%E2%80%8Bwidth"
             "&sub4=%20%20%20&sub5=%FF%FEbad&sub1=second&SUB2=caps&utm_source=%0A%0D"
             "&utm_medium=%F0%9F%92%B1")
    assert click(client, query).status_code == 302
    row = Click.objects.get()
    assert row.sub1 == "A" * 64  # cut to 64; the first of two counts
    assert row.sub2 == "tabbed"  # control characters removed
    assert row.sub3 == "zerowidth"  # invisible format characters too
    assert row.sub4 == ""  # nothing printable left: dropped
    assert row.sub5 == "\ufffd\ufffdbad"  # bytes that are not UTF-8 read as replacements
    assert row.utm_source == ""
    assert row.utm_medium == "💱"


def test_clean_value_keeps_printable_text_only():
    assert clean_value("  a\x00b\u200bc\u2028d  ") == "abcd"
    assert clean_value("é" * 100) == "é" * 64
    assert source_of([("sub1", ""), ("sub1", "later"), ("utm_campaign", " x ")]) == {
        "utm_campaign": "x"}


@pytest.mark.django_db
def test_crawler_clicks_keep_their_source_too(client, alice, pm_btc):
    click(client, {"sub1": "s"}, HTTP_USER_AGENT=GOOGLEBOT)
    row = Click.objects.get()
    assert row.is_bot and row.sub1 == "s" and row.country == "US"


hostile = st.text(st.characters(codec="latin-1"), max_size=200)
names = st.sampled_from([*FIELDS, "cur_from", "cur_to", "SUB1", "sub1[]", "", "x"])


@hypothesis.settings(max_examples=80, deadline=None,
                     suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(names, hostile), max_size=12), raw=hostile)
@pytest.mark.django_db
def test_any_source_query_gets_a_redirect_and_clean_values(client, alice, pm_btc, pairs, raw):
    query = urlencode(pairs) + "&" + raw
    before = Click.objects.count()
    response = click(client, query)
    assert response.status_code == 302
    assert Click.objects.count() == before + 1
    row = Click.objects.order_by("-id").first()
    for name in FIELDS:
        value = getattr(row, name)
        assert len(value) <= 64 and value.isprintable() and value == value.strip()


# --- the other ways: the writer, the spool, the Redis stream --------------------------------


def click_data(alice, **source: str) -> ClickData:
    from django.utils import timezone

    return ClickData(uid=new_click_uid(), created_at=timezone.now(), code="alice001",
                     partner_id=alice.pk, user_hash="visitor01", is_bot=False,
                     browser="Chrome 120", ip="8.8.8.0", referrer="", query_string="",
                     user_agent=CHROME, seen_today=None, **source)


@pytest.mark.django_db
def test_the_writer_stores_the_source(alice):
    assert clicks_write([click_data(alice, country="US", **SOURCE)]) == 1
    row = Click.objects.get()
    assert source_of_row(row) == SOURCE and row.country == "US"


@pytest.mark.django_db
def test_a_message_queued_before_the_source_existed_still_reads(alice):
    old = click_data(alice).to_json()
    for name in (*FIELDS, "country"):
        old = old.replace(f',"{name}":""', "")
    assert "sub1" not in old
    assert clicks_write([ClickData.from_json(old)]) == 1
    assert Click.objects.get().sub1 == ""


@pytest.mark.django_db(transaction=True)
def test_a_spooled_click_keeps_its_source(client, alice, pm_btc, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    click(client, {})  # the partner and the directions are cached now
    Click.objects.all().delete()
    with database_unreachable():
        assert click(client, SOURCE).status_code == 302
    assert not Click.objects.exists()
    assert clicks_ingest() == 1
    row = Click.objects.get()
    assert source_of_row(row) == SOURCE and row.country == "US"


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_a_streamed_click_keeps_its_source(client, alice, pm_btc, stream):  # noqa: F811
    assert click(client, SOURCE).status_code == 302
    assert not Click.objects.exists()
    assert clicks_ingest() == 1
    row = Click.objects.get()
    assert source_of_row(row) == SOURCE and row.country == "US"


@pytest.mark.django_db
def test_the_direct_insert_names_the_source_columns(client, alice, pm_btc):
    # The plain INSERT, not the ORM: the row read back is the proof, on either database.
    click(client, {"sub5": "five", "utm_campaign": "c"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT sub5, utm_campaign, country FROM partners_click")
        assert cursor.fetchall() == [("five", "c", "US")]
