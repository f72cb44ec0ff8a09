"""JSON lines for log collectors (`LOG_FORMAT=json`): one object per record."""

from __future__ import annotations

import json
import logging
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
