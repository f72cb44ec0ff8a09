"""Premium Exchanger's default export paths: `/request-exportxml.xml`, `/request-exporttxt.txt`.

The same bytes, caching, ETag/304 and fast path as the per-code export; polls counted under
"default"; the operator can switch them off.
"""

from __future__ import annotations

import pytest

from obmin.monitoring import polls
from obmin.monitoring.models import DefaultExportPollHour, ExportSettings, MonitorPollHour
from obmin.monitoring.services import monitor_polls_flush
from obmin.monitoring.tests.parse import export, txt_items, xml_items
from obmin.monitoring.tests.test_fastpath import wsgi

pytestmark = pytest.mark.django_db

PATHS = {"xml": "/request-exportxml.xml", "txt": "/request-exporttxt.txt"}


@pytest.mark.parametrize("fmt", ["xml", "txt"])
def test_default_paths_answer_what_the_per_code_export_answers(client, monitor, directions,
                                                               fmt):
    default = client.get(PATHS[fmt])
    per_code = export(client, fmt, "bestmon1")
    assert default.status_code == 200
    assert default.content == per_code.content
    assert default["Content-Type"] == per_code["Content-Type"]
    assert default["ETag"] == per_code["ETag"]
    parse = xml_items if fmt == "xml" else txt_items
    assert parse(default.content) == parse(per_code.content)
    assert len(parse(default.content)) == 4


@pytest.mark.parametrize("fmt", ["xml", "txt"])
def test_a_conditional_request_gets_304(client, directions, fmt):
    first = client.get(PATHS[fmt])
    again = client.get(PATHS[fmt], HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    since = client.get(PATHS[fmt], HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert since.status_code == 304


def test_the_fast_path_answers_them_without_django(client, directions,
                                                   django_assert_num_queries):
    client.get(PATHS["xml"])  # builds the snapshot
    with django_assert_num_queries(0):
        status, headers, body = wsgi(PATHS["xml"])
    assert status == 200 and body == client.get(PATHS["xml"]).content
    status, headers, body = wsgi(PATHS["xml"], HTTP_IF_NONE_MATCH=headers["ETag"])
    assert status == 304 and body == b""
    # The format is in the name twice; a mismatch is no export address.
    assert client.get("/request-exportxml.txt").status_code == 404
    assert wsgi("/request-exportjson.json")[0] == 404


def test_polls_are_counted_under_default(client, monitor, directions, settings):
    settings.MONITORING_POLL_PUSH_SECONDS = 3600
    settings.MONITORING_POLL_FLUSH_SECONDS = 3600
    for _ in range(3):
        client.get(PATHS["xml"])
    client.get(PATHS["txt"])
    export(client, "xml", "bestmon1")
    assert sum(n for (poller, _hour), n in polls.buffered().items()
               if poller == polls.DEFAULT_EXPORT) == 4
    monitor_polls_flush()
    assert DefaultExportPollHour.objects.get().polls == 4
    assert MonitorPollHour.objects.get(partner=monitor).polls == 1


def test_switched_off_they_answer_maintenance(client, carol, directions):
    settings_row = ExportSettings.load()
    settings_row.default_export_enabled = False
    settings_row.save()
    assert b"<error>Maintenance</error>" in client.get(PATHS["xml"]).content
    assert client.get(PATHS["txt"]).content.strip() == b"Maintenance"
    client.force_login(carol)
    page = client.get("/admin/monitoring/exportsettings/1/change/").content.decode()
    assert "default_export_enabled" in page and "polls of the default paths" in page.lower()
