"""One access-log line per request for `obmin serve`, secrets scrubbed (contract §7).

A WSGI wrapper around the whole application (the export's fast path included): method, path
with its query string, status, time taken, bytes sent and the client address, written to the
`obmin.access` logger when the answer is finished. `api_key`, `password`, `token` values and
Bearer tokens in the line are replaced by `********` (`obmin.lib.logscrub`); with
`LOG_FORMAT=json` each line is a JSON object with those fields (settings.LOGGING).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from obmin.lib.ipmask import client_address
from obmin.lib.logscrub import scrub

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
        path = scrub(environ.get("PATH_INFO", "") + ("?" + query if query else ""))
        status = int((self.status[0] if self.status else "500").split(" ", 1)[0])
        duration_ms = round((time.perf_counter() - self.started) * 1000, 2)
        client = client_address(environ) or "-"
        method = environ.get("REQUEST_METHOD", "-")
        logger.info('%s "%s %s" %s %s %sms', client, method, path, status, self.size,
                    duration_ms, extra={
                        "client": client, "method": method, "path": path, "status": status,
                        "size": self.size, "duration_ms": duration_ms})
