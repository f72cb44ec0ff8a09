"""Requests through `obmin.wsgi.application`, as a WSGI server hands them over: the path the
production server runs, fast paths included (Django's test client has its own handler)."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import unquote_to_bytes

from django.core import signals
from django.db import close_old_connections

from obmin.lib.accesslog import WSGIApp


@dataclass
class WsgiAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()),
                    None)

    @property
    def cookies(self) -> SimpleCookie:
        jar: SimpleCookie = SimpleCookie()
        for key, value in self.headers:
            if key.lower() == "set-cookie":
                jar.load(value)
        return jar


def wsgi_request(path: str, *, method: str = "GET", query: str = "",
                 headers: dict[str, str] | None = None,
                 remote_addr: str = "198.51.100.7", application: WSGIApp | None = None,
                 ) -> WsgiAnswer:
    """One request; `path` may be percent-encoded (PATH_INFO gets it unquoted, as latin-1),
    `headers` by their HTTP names. `application` is obmin.wsgi's unless given (middleware reads
    its settings once, when built: a test that overrides them builds its own)."""
    if application is None:
        from obmin import wsgi

        application = wsgi.application

    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": remote_addr, "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr,
        "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "HTTP_HOST": "127.0.0.1:8000",
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in (headers or {}).items()},
    }
    started: list[tuple[str, list[tuple[str, str]]]] = []
    # As Django's test client does: the test's own connection (inside its transaction) must
    # not be closed as an aged one at the request's start and end.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        body_parts = application(environ, lambda status, hs, *exc: started.append((status, hs)))
        try:
            body = b"".join(body_parts)
        finally:
            close = getattr(body_parts, "close", None)
            if close is not None:
                close()  # as servers do: ends the request (Django's request_finished)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    status, response_headers = started[0]
    return WsgiAnswer(int(status.split()[0]), list(response_headers), body)
