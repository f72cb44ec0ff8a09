"""The api.php envelope as JSON: ApiError, the number and string writers, success and failure
answers, and long item lists streamed.

The standard encoder would turn a Decimal into a float (`0.1 + 0.2` artefacts) or a string; the
contract wants JSON numbers written exactly, so every number is written from its text here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from json.encoder import encode_basestring_ascii
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse

from obmin.lib.money import plain
from obmin.lib.timeutil import from_unix, to_unix, utc_date

CONTENT_TYPE = "application/json; charset=utf-8"
# Items written per chunk handed to the server: big enough that the per-chunk cost vanishes,
# small enough that memory stays flat.
ITEMS_PER_CHUNK = 500


class ApiError(Exception):
    """An answer with the error envelope: `code` is the contract's error number."""

    def __init__(self, code: int, text: str, *, status: int = 200,
                 retry_after: int | None = None) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.status = status
        self.retry_after = retry_after


def number(value: Decimal | int | float) -> str:
    """A JSON number from a Decimal's exact digits, an int, or a float as SQLite stores an
    amount (its shortest repr is the decimal that was saved)."""
    if isinstance(value, float):
        if not math.isfinite(value):  # never stored in an amount column; no JSON for it
            return "0"
        text = repr(value)
        if "e" in text:  # 1e-05, 1e+16
            return plain(Decimal(text))
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, Decimal):
        return plain(value) if value.is_finite() else "0"
    return str(int(value))


# A JSON string: ASCII with \u escapes, as PHP's json_encode writes by default; it also keeps
# any odd character (a lone surrogate in a parameter echoed in an error) from breaking the
# answer. The C function itself, not a wrapper: it runs five times for every streamed item.
string: Callable[[str], str] = encode_basestring_ascii


def encode(value: Any) -> str:
    """Small JSON writer for envelopes and their data (items use the faster writers below)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int):
        return number(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, datetime):
        return str(to_unix(value))
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{" + ",".join(f"{string(str(k))}:{encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def envelope(data: Mapping[str, Any] | None = None, *, error: int = 0, text: str = "") -> str:
    return (
        '{"status":' + ('"error"' if error else '"success"')
        + f',"error":{error},"error_text":{string(text)},"data":{encode(data or {})}}}'
    )


def success(data: Mapping[str, Any]) -> HttpResponse:
    return HttpResponse(envelope(data), content_type=CONTENT_TYPE)


class FailureResponse(HttpResponse):
    """An error envelope; `api_error` is its code (counted for /metrics)."""

    api_error: int


def failure(error: ApiError) -> HttpResponse:
    response = FailureResponse(envelope(error=error.code, text=error.text),
                               status=error.status, content_type=CONTENT_TYPE)
    response.api_error = error.code
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response


# Streaming a million items, strftime per item is the single biggest cost; these tables give
# the same text as lib.timeutil.utc_date from unix seconds at a fraction of it.
_HH_MM = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
_SS = [f"{s:02d}" for s in range(60)]


@lru_cache(maxsize=1024)
def _day(day: int) -> str:
    return utc_date(from_unix(day * 86_400))[:11]


def unix_date(seconds: int) -> str:
    """`YYYY-MM-DD HH:MM:SS` in UTC of unix `seconds` (equal to utc_date(from_unix(seconds)))."""
    day, second = divmod(seconds, 86_400)
    return _day(day) + _HH_MM[second // 60] + _SS[second % 60]


def time_fields(seconds: int) -> str:
    """`"time":…,"date":"…"` of an item, from unix seconds."""
    # unix_date inlined: one call fewer for every item streamed.
    day, second = divmod(seconds, 86_400)
    return f'"time":{seconds},"date":"{_day(day)}{_HH_MM[second // 60]}{_SS[second % 60]}"'


def stream_items(items: Iterable[str]) -> StreamingHttpResponse:
    """`data.items` written as items arrive: memory stays flat however many there are.

    Each element of `items` is one `"id":{...}` member. If the database fails half-way, the
    answer ends as broken JSON, which a client cannot mistake for a complete, shorter list.
    """
    return StreamingHttpResponse(_chunks(items), content_type=CONTENT_TYPE)


def _chunks(items: Iterable[str]) -> Iterator[bytes]:
    # str.join over islice joins a chunk's items in C: no Python step per item here, where a
    # million items pass. A chunk is sent once the next one has begun, so the last can close
    # the answer.
    rest = iter(items)
    text = ('{"status":"success","error":0,"error_text":"","data":{"items":{'
            + ",".join(islice(rest, ITEMS_PER_CHUNK)))
    while more := ",".join(islice(rest, ITEMS_PER_CHUNK)):
        yield text.encode()
        text = "," + more
    yield (text + "}}}").encode()
