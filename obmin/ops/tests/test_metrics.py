"""`/metrics`: Prometheus text with the site's counters and gauges, for the right callers only."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from obmin.partners.tests.conftest import CHROME

pytestmark = pytest.mark.django_db


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.fixture(autouse=True)
def metrics_open(settings):
    """The operator opened /metrics without a token (METRICS_PUBLIC); the access tests below
    close it again."""
    settings.METRICS_PUBLIC = True


def test_metrics_read_when_opened(client, alice, pm_btc):
    for _ in range(3):
        client.get("/ref/alice001/", QUERY_STRING="cur_from=PMUSD&cur_to=BTC",
                   HTTP_USER_AGENT=CHROME)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(response.content.decode())
    assert found[("obmin_clicks_total", (("to", "database"),))] == 3
    assert found[("obmin_clicks_waiting", ())] == 0
    assert ("obmin_tasks_ready", ()) in found


def test_closed_without_a_token_even_to_loopback(client, settings):
    """Issue 28.5: a proxy on the same host makes every visitor loopback, so loopback opens
    nothing: without METRICS_TOKEN (or METRICS_PUBLIC) /metrics answers no one."""
    settings.METRICS_PUBLIC = False
    for address in ("127.0.0.1", "::1", "203.0.113.9"):
        response = client.get("/metrics", REMOTE_ADDR=address)
        assert response.status_code == 403
        assert b"obmin_" not in response.content


def test_with_a_token_only_its_bearer_is_answered(client, settings):
    settings.METRICS_TOKEN = "scrape-me-0123456789"
    assert client.get("/metrics").status_code == 403  # a token set: it is needed, always
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9",
                          headers={"Authorization": "Bearer scrape-me-0123456789"})
    assert response.status_code == 200
    assert b"obmin_tasks_ready" in response.content


def test_a_token_with_other_than_ascii_is_refused_not_an_error(client, settings):
    # A header arrives as latin-1 text; hmac.compare_digest raises on non-ASCII str.
    settings.METRICS_TOKEN = "scrape-me-0123456789"
    for given in ("Bearer \u00e9", "Bearer scrape-me-012345678\u00ff"):
        assert client.get("/metrics", HTTP_AUTHORIZATION=given).status_code == 403


def test_exports_are_counted_per_code_and_format(client, alice, pm_btc):
    for fmt in ("xml", "xml", "json"):
        assert client.get(f"/service/export/{fmt}/{alice.export_code}").status_code == 200
    client.get("/service/export/txt/invented-by-anyone")
    found = samples(client.get("/metrics").content.decode())
    assert found[("obmin_exports_total", (("code", "alice001"), ("format", "xml")))] == 2
    assert found[("obmin_exports_total", (("code", "alice001"), ("format", "json")))] == 1
    assert found[("obmin_exports_total", (("code", "(unknown)"), ("format", "txt")))] == 1


def test_api_calls_are_counted_per_method_and_error(client, alice):
    from obmin.partner_api.services import apikey_create

    _key, raw = apikey_create(partner=alice)
    url = "/service/partner/api.php"
    client.get(url, {"api_action": "pp", "api_key": raw, "method": "get_info"})
    client.get(url, {"api_action": "pp", "api_key": raw, "method": "get_info"})
    client.get(url, {"api_action": "pp", "api_key": "obm_live_wrong", "method": "get_links"})
    client.get(url, {"api_action": "pp", "api_key": raw, "method": "made_up"})
    found = samples(client.get("/metrics").content.decode())
    assert found[("obmin_api_calls_total", (("error", "0"), ("method", "get_info")))] == 2
    assert found[("obmin_api_calls_total", (("error", "1"), ("method", "get_links")))] == 1
    assert found[("obmin_api_calls_total", (("error", "3"), ("method", "(other)")))] == 1
