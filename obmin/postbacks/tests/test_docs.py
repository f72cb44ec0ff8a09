"""The partners' documentation names every event and macro the code has, and /metrics counts
deliveries by outcome."""

from __future__ import annotations

import pytest

from obmin.lib import metrics
from obmin.postbacks.models import Event
from obmin.postbacks.payloads import MACROS

pytestmark = pytest.mark.django_db


def test_docs_page_names_every_event_and_macro(client):
    page = client.get("/partners/api/").content.decode()
    assert 'id="postbacks"' in page
    for event in Event.values:
        assert f"<code>{event}</code>" in page
    for macro in MACROS:
        assert "{" + macro + "}" in page
    for header in ("X-Obmin-Event", "X-Obmin-Delivery", "X-Obmin-Signature: sha256=",
                   "X-Obmin-Signature-V2"):
        assert header in page


def test_metrics_count_deliveries_by_outcome(client, settings):
    settings.METRICS_PUBLIC = True
    metrics.count("obmin_postback_deliveries", outcome="delivered")
    metrics.count("obmin_postback_deliveries", 2, outcome="retry")
    text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'obmin_postback_deliveries_total{outcome="delivered"} 1.0' in text
    assert 'obmin_postback_deliveries_total{outcome="retry"} 2.0' in text
