"""The export's WSGI fast path: polls answered before Django's middleware stack.

Monitors poll every few seconds, and the answer is prepared bytes; the middleware (sessions,
locale, CSRF, auth, messages...) would cost several times the answer itself. `obmin.wsgi` sends
GET and HEAD requests for `/service/export/...` here; anything else, and any failure, goes to
Django, whose view (`views.export`) gives the same answer through the same `export_answer`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from django.db import close_old_connections

from obmin.lib.accesslog import WSGIApp
from obmin.monitoring.views import export_answer

EXPORT_PATH = re.compile(r"^/service/export/(xml|json|txt)/([^/]+)/?$")
# Premium Exchanger's default export addresses: the export without a code.
DEFAULT_EXPORT_PATH = re.compile(r"^/request-export(xml|txt)\.\1$")


_STATUS_LINES = {200: "200 OK", 304: "304 Not Modified"}
CONNECTIONS_CHECK_SECONDS = 1.0
_connections_checked = float("-inf")


def with_export_fast_path(django_app: WSGIApp) -> WSGIApp:
    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        match = EXPORT_PATH.match(path) or DEFAULT_EXPORT_PATH.match(path)
        method = environ.get("REQUEST_METHOD")
        if match is None or method not in ("GET", "HEAD"):
            return django_app(environ, start_response)
        try:
            code = match.group(2) if match.re is EXPORT_PATH else None
            answer = export_answer(match.group(1), code, environ)
        except Exception:  # Django's own handling logs it and answers properly
            return django_app(environ, start_response)
        finally:
            # What Django's request_finished would do: drop a connection that broke or aged.
            # A poll touches the database only when the export is rebuilt (a database error
            # then goes to Django above, which closes the broken connection itself), so once a
            # second is enough: walking the connections cost a tenth of a poll.
            global _connections_checked
            if not 0 <= time.monotonic() - _connections_checked < CONNECTIONS_CHECK_SECONDS:
                _connections_checked = time.monotonic()
                close_old_connections()
        status = _STATUS_LINES.get(answer.status) or (
            f"{answer.status} {HTTPStatus(answer.status).phrase}")
        if answer.status == 304:
            headers = [(name, value) for name, value in answer.headers
                       if name != "Content-Type"]
        else:
            headers = answer.headers  # a list of this answer's own
        headers.append(("Content-Length", str(len(answer.content))))
        start_response(status, headers)
        return [b"" if method == "HEAD" else answer.content]

    return application
