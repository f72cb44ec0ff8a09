"""JSON lines for log collectors (`LOG_FORMAT=json`): one object per record."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

# Fields an access-log record carries (obmin.lib.accesslog), copied into the object.
ACCESS_FIELDS = ("client", "method", "path", "status", "size", "duration_ms")


class JsonLinesFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            # exc_text: the traceback as ScrubSecretsFilter left it (secrets masked).
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class SecondsCachedFormatter(logging.Formatter):
    """`logging.Formatter` whose `%(asctime)s` is formatted once per second, not per record:
    the access log writes a line per request, and `time.strftime` was a tenth of a poll."""

    # (second, its text): one attribute, replaced whole, so threads never mix two seconds.
    _cached: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        text = self.second_text(int(record.created))
        if self.default_msec_format is None:
            return text
        return self.default_msec_format % (text, record.msecs)

    def second_text(self, second: int) -> str:
        """`asctime` without its milliseconds, for a unix second."""
        cached = self._cached
        if cached[0] != second:
            cached = (second, time.strftime(self.default_time_format, self.converter(second)))
            self._cached = cached
        return cached[1]
