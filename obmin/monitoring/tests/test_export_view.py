"""The export as monitors read it: every format parsed and checked against the directions."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from obmin.monitoring.models import ExportSettings
from obmin.monitoring.tests.parse import export, json_items, txt_items, xml_items
from obmin.testing.factories import CurrencyFactory, DirectionFactory

PM_BTC = ("PMUSD", "BTC", "")
PM_USDT = ("PMUSD", "USDTTRC20", "")
BTC_USD = ("BTC", "PMUSD", "")
CASH = ("USDTTRC20", "CASHUAH", "KIEV")

# What each fixture direction must look like on the wire (XML element -> text).
EXPECTED = {
    PM_BTC: {"in": "100000", "out": "1", "amount": "2", "minamount": "10 PMUSD",
             "maxamount": "5000 PMUSD"},
    PM_USDT: {"in": "1.020408163", "out": "1", "amount": "100000", "minamount": "10 PMUSD",
              "maxamount": "10000 PMUSD"},
    # No maximum set: what the 50000 PMUSD reserve pays, in BTC (50000 / 95000.5).
    BTC_USD: {"in": "1", "out": "95000.5", "amount": "50000", "minamount": "0.001 BTC",
              "maxamount": "0.52631302 BTC", "fromfee": "1 %", "tofee": "2.5 PMUSD",
              "param": "manual,verifying"},
    # Its own maximum is 20000 USDTTRC20, but the 250000 CASHUAH reserve pays only
    # 250000 / 41.2 = 6067.9612 of it (8 significant digits): monitors must not promise
    # more than the form accepts.
    CASH: {"in": "1", "out": "41.2", "amount": "250000", "minamount": "100 USDTTRC20",
           "maxamount": "6067.9612 USDTTRC20", "city": "KIEV", "param": "delivery"},
}


def _fields(key: tuple[str, str, str]) -> dict[str, str]:
    fields = {"from": key[0], "to": key[1], **EXPECTED[key]}
    return fields


def test_xml_lists_every_active_direction_exactly(client, monitor, directions):
    response = export(client, "xml", "bestmon1")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert xml_items(response.content) == {key: _fields(key) for key in EXPECTED}


def test_xml_items_keep_bestchange_element_order(client, monitor, directions):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(export(client, "xml", "bestmon1").content)
    item = next(i for i in root if i.findtext("from") == "BTC")
    assert [child.tag for child in item] == ["from", "to", "in", "out", "amount", "minamount",
                                             "maxamount", "fromfee", "tofee", "param"]


def test_json_carries_the_same_entries(client, monitor, directions):
    response = export(client, "json", "bestmon1")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert json_items(response.content) == {key: _fields(key) for key in EXPECTED}


def test_txt_lines(client, monitor, directions):
    response = export(client, "txt", "bestmon1")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    expected = {key: [key[0], key[1], EXPECTED[key]["in"], EXPECTED[key]["out"],
                      EXPECTED[key]["amount"], key[2]] for key in EXPECTED}
    assert txt_items(response.content) == expected
    assert b"PMUSD;BTC;100000;1;2;;\n" in response.content


def test_left_out_directions(client, monitor, directions, usd, btc, usdt):
    dead = CurrencyFactory(code="DEADUSD", is_active=False)
    empty = CurrencyFactory(code="EMPTYUSD", reserve=Decimal(0))
    negative = CurrencyFactory(code="OWEDUSD", reserve=Decimal(-5))
    DirectionFactory(currency_give=usdt, currency_get=btc, is_active=False)
    DirectionFactory(currency_give=usd, currency_get=dead)
    DirectionFactory(currency_give=dead, currency_get=usdt)
    DirectionFactory(currency_give=usd, currency_get=empty)
    DirectionFactory(currency_give=usd, currency_get=negative)
    DirectionFactory(currency_give=btc, currency_get=usdt, rate_give=Decimal(0))
    DirectionFactory(currency_give=usdt, currency_get=usd, rate_get=Decimal(0))
    for fmt, parse in (("xml", xml_items), ("json", json_items), ("txt", txt_items)):
        assert set(parse(export(client, fmt, "bestmon1").content)) == set(EXPECTED), fmt


def test_stale_rates_are_left_out(client, monitor, directions):
    ExportSettings.objects.create(max_rate_age_minutes=10)
    stale = directions["pm_usdt"]
    stale.rate_updated_at = timezone.now() - timedelta(minutes=11)
    stale.save()
    items = xml_items(export(client, "xml", "bestmon1").content)
    assert set(items) == set(EXPECTED) - {PM_USDT}


def _hours_around(now: datetime, inside: bool) -> dict[str, object]:
    if inside:
        start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    else:
        start, end = now + timedelta(hours=1), now + timedelta(hours=2)
    return {"manual_hours_enabled": True, "manual_hours_start": start.time(),
            "manual_hours_end": end.time()}


@pytest.mark.parametrize("inside", [True, False])
def test_manual_directions_follow_working_hours(client, monitor, directions, inside):
    ExportSettings.objects.create(**_hours_around(timezone.now(), inside))
    items = xml_items(export(client, "xml", "bestmon1").content)
    # BTC -> PMUSD is the manual one.
    assert (BTC_USD in items) is inside
    assert set(items) - {BTC_USD} == set(EXPECTED) - {BTC_USD}


def test_manual_hours_switched_off_lists_manual_directions(client, monitor, directions):
    settings = _hours_around(timezone.now(), inside=False)
    settings["manual_hours_enabled"] = False
    ExportSettings.objects.create(**settings)
    assert BTC_USD in xml_items(export(client, "xml", "bestmon1").content)


MAINTENANCE = {"xml": b"<error>Maintenance</error>", "json": b'["error","Maintenance"]',
               "txt": b"Maintenance"}


@pytest.mark.parametrize("fmt", ["xml", "json", "txt"])
@pytest.mark.parametrize("case", ["unknown", "blocked", "disabled", "maintenance"])
def test_maintenance_answers(client, monitor, directions, fmt, case):
    code = "bestmon1"
    if case == "unknown":
        code = "nosuchcode"
    elif case == "blocked":
        monitor.is_blocked = True
        monitor.save()
    elif case == "disabled":
        monitor.export_enabled = False
        monitor.save()
    else:
        ExportSettings.objects.create(maintenance=True)
    response = export(client, fmt, code)
    assert response.status_code == 200
    assert response["ETag"] and response["Last-Modified"]
    body = response.content
    if fmt == "xml":
        import xml.etree.ElementTree as ET

        root = ET.fromstring(body)
        assert (root.tag, root.text) == ("error", "Maintenance")
    else:
        assert body == MAINTENANCE[fmt]


def test_code_is_case_insensitive(client, monitor, directions):
    upper = export(client, "xml", "BESTMON1")
    assert upper.content == export(client, "xml", "bestmon1").content
    assert set(xml_items(upper.content)) == set(EXPECTED)


def test_trailing_slash_is_accepted(client, monitor, directions):
    assert set(xml_items(client.get("/service/export/xml/bestmon1/").content)) == set(EXPECTED)


def test_post_is_refused(client, monitor, directions):
    assert client.post("/service/export/xml/bestmon1").status_code == 405


def test_no_directions_is_an_empty_list(client, monitor):
    assert xml_items(export(client, "xml", "bestmon1").content) == {}
    assert export(client, "json", "bestmon1").content == b'{"rates":[]}'
    assert export(client, "txt", "bestmon1").content == b""


# --- conditional requests and gzip --------------------------------------------------------


def test_if_none_match_answers_304(client, monitor, directions):
    first = export(client, "xml", "bestmon1")
    again = export(client, "xml", "bestmon1", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    assert again["Last-Modified"] == first["Last-Modified"]
    other = export(client, "xml", "bestmon1", HTTP_IF_NONE_MATCH='"something-else"')
    assert other.status_code == 200 and other.content == first.content


def test_if_modified_since_answers_304(client, monitor, directions):
    first = export(client, "json", "bestmon1")
    again = export(client, "json", "bestmon1", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert again.status_code == 304 and again.content == b""
    older = export(client, "json", "bestmon1",
                   HTTP_IF_MODIFIED_SINCE="Mon, 01 Jan 2001 00:00:00 GMT")
    assert older.status_code == 200 and older.content == first.content


def test_each_format_has_its_own_etag(client, monitor, directions):
    tags = {export(client, fmt, "bestmon1")["ETag"] for fmt in ("xml", "json", "txt")}
    assert len(tags) == 3


def test_gzip_when_asked(client, monitor, directions):
    plain = export(client, "xml", "bestmon1")
    packed = export(client, "xml", "bestmon1", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    assert gzip.decompress(packed.content) == plain.content
    assert packed["ETag"] != plain["ETag"]
    # The gzip variant's tag still matches the same content.
    assert export(client, "xml", "bestmon1", HTTP_ACCEPT_ENCODING="gzip",
                  HTTP_IF_NONE_MATCH=packed["ETag"]).status_code == 304
    refused = export(client, "xml", "bestmon1", HTTP_ACCEPT_ENCODING="gzip;q=0, identity")
    assert not refused.has_header("Content-Encoding") and refused.content == plain.content


def test_zero_queries_on_a_cached_answer(client, monitor, directions, django_assert_num_queries,
                                         settings):
    export(client, "xml", "bestmon1")  # builds
    # Pushing poll counts to the cache on every request must not query either.
    settings.MONITORING_POLL_PUSH_SECONDS = 0
    with django_assert_num_queries(0):
        for fmt in ("xml", "json", "txt"):
            assert export(client, fmt, "bestmon1").status_code == 200
        assert export(client, "xml", "BESTMON1", HTTP_ACCEPT_ENCODING="gzip").status_code == 200
        assert export(client, "xml", "nosuchcode").content.endswith(
            b"<error>Maintenance</error>\n")
        etag = export(client, "txt", "bestmon1")["ETag"]
        assert export(client, "txt", "bestmon1", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_writing_methods_are_not_allowed(client, monitor, directions):
    response = client.post("/service/export/xml/bestmon1")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
