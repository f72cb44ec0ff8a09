"""The access line and the whole answers `obmin.wsgi` hands its server (issue 31's speed-ups
keep every line and every answer as it was)."""

from __future__ import annotations

import contextlib
import io
import logging
import re
from collections.abc import Iterator

import pytest
from django.core import signals
from django.http import HttpResponse, StreamingHttpResponse

from obmin.lib.accesslog import AccessLineHandler, AccessLog, whole_answers
from obmin.lib.logformat import SecondsCachedFormatter
from obmin.lib.logscrub import ScrubSecretsFilter
from obmin.testing.wsgi import wsgi_request

LINE = re.compile(
    r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\S+) "(\S+) (\S+)" (\d{3}) (\d+) '
    r"[\d.]+ms$"
)


@contextlib.contextmanager
def shipped_handler_only() -> Iterator[io.StringIO]:
    """obmin.access with nothing but the handler settings.LOGGING configures, writing to a
    buffer (pytest attaches its capturing handler to every logger that does not propagate:
    taken off meanwhile)."""
    access = logging.getLogger("obmin.access")
    stream = io.StringIO()
    handler = AccessLineHandler(stream)
    handler.setFormatter(SecondsCachedFormatter("%(asctime)s %(message)s"))
    handler.addFilter(ScrubSecretsFilter())
    saved = access.handlers[:], access.level
    access.handlers[:] = [handler]
    access.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        access.handlers[:] = saved[0]
        access.setLevel(saved[1])


def app(answer):
    def application(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return answer()

    return application


def test_the_direct_line_is_the_one_the_logging_pipeline_writes(caplog):
    logged = AccessLog(app(lambda: [b"hello"]))
    with shipped_handler_only() as stream:
        wsgi_request(
            "/service/partner/api.php",
            query="api_key=obm_live_secret&x=1",
            application=logged,
            remote_addr="203.0.113.9",
        )
        # Another handler beside it (a collector's, pytest's caplog): the whole pipeline.
        access = logging.getLogger("obmin.access")
        access.addHandler(caplog.handler)
        with caplog.at_level(logging.INFO, logger="obmin.access"):
            wsgi_request(
                "/service/partner/api.php",
                query="api_key=obm_live_secret&x=1",
                application=logged,
                remote_addr="203.0.113.9",
            )
    direct, piped = stream.getvalue().splitlines()
    for line in (direct, piped):
        match = LINE.match(line)
        assert match, line
        assert match.groups() == (
            "203.0.113.9",
            "GET",
            "/service/partner/api.php?api_key=********&x=1",
            "200",
            "5",
        )
    (record,) = [r for r in caplog.records if r.name == "obmin.access"]
    assert record.getMessage() == piped.split(" ", 2)[2]
    assert (record.client, record.status, record.size, record.path) == (
        "203.0.113.9",
        200,
        5,
        "/service/partner/api.php?api_key=********&x=1",
    )


def test_a_method_outside_the_usual_ones_is_scrubbed_too():
    with shipped_handler_only() as stream:
        wsgi_request("/x", method="api_key=obm_live_abc", application=AccessLog(app(lambda: [b""])))
    assert "obm_live_abc" not in stream.getvalue() and stream.getvalue()


def test_streamed_answers_are_logged_when_closed_with_their_size():
    def chunks():
        yield b"ab"
        yield b"cde"

    with shipped_handler_only() as stream:
        wsgi_request("/stream", application=AccessLog(app(chunks)))
    assert LINE.match(stream.getvalue().strip())[5] == "5"


def test_seconds_cached_formatter_writes_what_logging_formatter_does():
    plain = logging.Formatter("%(asctime)s %(message)s")
    cached = SecondsCachedFormatter("%(asctime)s %(message)s")
    for created in (1_796_307_141.25, 1_796_307_141.999, 1_796_307_142.0, 1_796_307_141.5):
        record = logging.makeLogRecord(
            {"msg": "line", "created": created, "msecs": (created - int(created)) * 1000}
        )
        assert cached.format(record) == plain.format(record)


@pytest.mark.django_db
def test_whole_answers_are_lists_and_the_request_ends_before_they_are_sent():
    finished = []

    def on_finished(**kwargs):
        finished.append(1)

    def django_like(answer):
        def application(environ, start_response):
            start_response("200 OK", [])
            response = answer()
            response._handler_class = None  # as Django's WSGIHandler sets it
            return response

        return application

    signals.request_finished.connect(on_finished)
    try:
        body = whole_answers(django_like(lambda: HttpResponse(b"page")))({}, lambda *a: None)
        assert body == [b"page"] and finished == [1]
        streamed = whole_answers(django_like(lambda: StreamingHttpResponse(iter([b"a", b"b"]))))(
            {}, lambda *a: None
        )
        assert not isinstance(streamed, list) and finished == [1]  # ends when closed
        assert b"".join(streamed) == b"ab"
        streamed.close()
        assert finished == [1, 1]
    finally:
        signals.request_finished.disconnect(on_finished)


@pytest.mark.django_db
def test_pages_through_obmin_wsgi_answer_as_before(client):
    answer = wsgi_request("/health/live")
    assert answer.status == 200 and answer.body == client.get("/health/live").content
