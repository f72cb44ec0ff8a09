"""One access-log line per request for `obmin serve`, secrets scrubbed (contract §7).

A WSGI wrapper around the whole application (the export's fast path included): method, path
with its query string, status, time taken, bytes sent and the client address, written to the
`obmin.access` logger when the answer is finished. `api_key`, `password`, `token` values and
Bearer tokens in the line are replaced by `********` (`obmin.lib.logscrub`); with
`LOG_FORMAT=json` each line is a JSON object with those fields (settings.LOGGING).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.http import HttpResponse

from obmin.lib.ipmask import client_address
from obmin.lib.logformat import SecondsCachedFormatter
from obmin.lib.logscrub import ScrubSecretsFilter, scrub

logger = logging.getLogger("obmin.access")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class AccessLog:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        status: list[str] = []

        def remember_status(code: str, headers: list[tuple[str, str]],
                            exc_info: Any = None) -> Any:
            status[:] = [code]
            return start_response(code, headers, exc_info)

        body = self.app(environ, remember_status)
        if type(body) is list:
            # A whole answer (the fast paths', and every page's but streamed ones, see
            # obmin.wsgi): logged now and handed on as the list it is. A WSGI server sends a
            # list in one write, but iterates anything else chunk by chunk from its own thread
            # (granian: a hand-over of the GIL per chunk, which cost more than the export's
            # whole answer).
            logged = _Logged(body, environ, status, started)
            logged.size = sum(len(chunk) for chunk in body)
            logged._log()
            return body
        return _Logged(body, environ, status, started)


class _Logged:
    """The answer's body, passed through; logs the line when the server closes it."""

    def __init__(self, body: Iterable[bytes], environ: dict[str, Any], status: list[str],
                 started: float) -> None:
        self.body = body
        self.environ = environ
        self.status = status
        self.started = started
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.body:
            self.size += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self._log()

    def _log(self) -> None:
        if not logger.isEnabledFor(logging.INFO):
            return
        environ = self.environ
        query = environ.get("QUERY_STRING", "")
        path = _scrubbed(environ.get("PATH_INFO", "") + ("?" + query if query else ""))
        status = int((self.status[0] if self.status else "500").split(" ", 1)[0])
        duration_ms = round((time.perf_counter() - self.started) * 1000, 2)
        client = client_address(environ) or "-"
        method = environ.get("REQUEST_METHOD", "-")
        if method not in _METHODS:
            method = _scrubbed(method)
        line = f'{client} "{method} {path}" {status} {self.size} {duration_ms}ms'
        handlers = logger.handlers
        if (len(handlers) == 1 and type(handlers[0]) is AccessLineHandler
                and not logger.filters and handlers[0].writes_directly()):
            # The shipped configuration (settings.LOGGING): the line written as its formatter
            # would, without the logging machinery around it (a fifth of a poll's cost).
            handlers[0].write_line(line)
            return
        # Anything else (LOG_FORMAT=json, another handler, pytest's caplog): the logger's own
        # pipeline, with a record made directly (`logger.info` looked up the caller's frame,
        # the thread's and the process's names on every request).
        logger.handle(_AccessRecord(line, client, method, path, status, self.size, duration_ms))


class AccessLineHandler(logging.StreamHandler):
    """The access log's handler (settings.LOGGING's "access"): a StreamHandler, which
    `_Logged` hands a text line directly while it is configured as shipped (the time-cached
    text formatter, no filter but the secrets' one, which the line does not need)."""

    def writes_directly(self) -> bool:
        formatter = self.formatter
        return (type(formatter) is SecondsCachedFormatter
                and formatter._fmt == "%(asctime)s %(message)s"  # noqa: SLF001
                and formatter.default_msec_format == "%s,%03d"
                and self.level <= logging.INFO
                and all(type(f) is ScrubSecretsFilter for f in self.filters))

    def write_line(self, message: str) -> None:
        created = time.time()
        formatter = self.formatter
        assert isinstance(formatter, SecondsCachedFormatter)
        text = formatter.second_text(int(created))
        line = f"{text},{int((created - int(created)) * 1000):03d} {message}{self.terminator}"
        with self.lock:  # type: ignore[union-attr]
            try:
                self.stream.write(line)
                self.flush()
            except Exception:  # as logging does: a broken log never fails the request
                self.handleError(logging.makeLogRecord({"msg": message, "name": logger.name}))


class _AccessRecord(logging.LogRecord):
    """An INFO record of `obmin.access`, with the access line's fields as attributes (what
    `extra=` gave them) and `scrubbed`: every part of the line is clean already, so the
    handler's filter (logscrub.ScrubSecretsFilter) need not scrub it again."""

    scrubbed = True

    def __init__(self, message: str, client: str, method: str, path: str, status: int,
                 size: int, duration_ms: float) -> None:  # noqa: PLR0913
        # Not LogRecord.__init__: only what formatters and filters read, made cheaply.
        created = time.time()
        self.name = logger.name
        self.msg = message
        self.args = ()
        self.levelname = "INFO"
        self.levelno = logging.INFO
        self.pathname = __file__
        self.filename = "accesslog.py"
        self.module = "accesslog"
        self.exc_info = None
        self.exc_text = None
        self.stack_info = None
        self.lineno = 0
        self.funcName = "_log"
        self.created = created
        self.msecs = int((created - int(created)) * 1000) + 0.0
        self.relativeCreated = (created - logging._startTime) * 1000  # type: ignore[attr-defined]
        self.thread = threading.get_ident()
        self.threadName = None
        self.processName = None
        self.process = _PID
        self.taskName = None
        self.client, self.method, self.path = client, method, path
        self.status, self.size, self.duration_ms = status, size, duration_ms

    def getMessage(self) -> str:  # noqa: N802 -- logging's name
        return self.msg


_PID = os.getpid()


def _remember_pid() -> None:
    global _PID
    _PID = os.getpid()


os.register_at_fork(after_in_child=_remember_pid)

_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
# Scrubbed paths by their raw text: monitors poll and links are clicked by the same few
# addresses over and over, and scrubbing (a handful of regular expressions) cost more than the
# export's whole answer. Emptied when full, so invented paths cannot grow it.
_SCRUBBED_MAX = 2048
_scrubbed_paths: dict[str, str] = {}


def _scrubbed(text: str) -> str:
    cleaned = _scrubbed_paths.get(text)
    if cleaned is None:
        cleaned = scrub(text)
        if len(_scrubbed_paths) >= _SCRUBBED_MAX:
            _scrubbed_paths.clear()
        _scrubbed_paths[text] = cleaned
    return cleaned


def whole_answers(django_app: WSGIApp) -> WSGIApp:
    """Django's answers that are not streamed, handed to the server as a list of their bytes,
    with the request ended (`request_finished`) before they are sent.

    A WSGI server sends a list in one write; anything else it iterates chunk by chunk and
    closes afterwards (granian: from its own runtime, taking the GIL back for each step). For
    a page that is a whole `HttpResponse` anyway, that was pure cost on every request.
    Streamed answers (the API's year of clicks, CSVs, files) pass through as they are.
    """

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        response = django_app(environ, start_response)
        if not isinstance(response, HttpResponse):
            return response
        try:
            return [response.content]
        finally:
            response.close()

    return application
