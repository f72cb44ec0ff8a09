"""API v1's envelope: `{"error": 0, "error_text": "", "data": ...}`, and its errors.

`error` is a JSON number: `0` on success, except create_bid's string `"0"` (Premium's PHP
sends it so, and clients compare it exactly: contract 4b); a bad
parameter adds `error_fields` (`{"param": "why"}`). Numbers are written exactly as api.php
writes them (`envelope.encode`), and long lists are streamed the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse

from obmin.partner_api.envelope import CONTENT_TYPE, ITEMS_PER_CHUNK, ApiError, encode, string

# Premium's own error texts: part of the wire (clients match them), hence not translated.
API_DISABLED = "Api disabled"
METHOD_NOT_SUPPORTED = "Method not supported"
NO_BID = "No bid exists"
NO_DIRECTION = "Direction not found"

# Error numbers, api.php's where the meaning is the same.
E_DISABLED = 1
E_ADDRESS = 2
E_METHOD = 3
E_PARAMETER = 4
E_TOO_MANY = 5
E_NO_BID = 6
E_NO_DIRECTION = 7


class V1Error(Exception):
    """An answer with a non-zero `error`; `fields` becomes `error_fields`."""

    def __init__(self, code: int, text: str, *, fields: Mapping[str, str] | None = None,
                 status: int = 200, retry_after: int | None = None) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.fields = dict(fields or {})
        self.status = status
        self.retry_after = retry_after


def bad_fields(fields: Mapping[str, str]) -> V1Error:
    """A refusal naming each parameter at fault; the text is the first reason, readable
    on its own (`calc_amount: The minimum ...`)."""
    name, reason = next(iter(fields.items()))
    return V1Error(E_PARAMETER, f"{name}: {reason}", fields=fields)


def from_api_error(error: ApiError) -> V1Error:
    """api.php's refusal as v1 says it: the key check's errors are `Api disabled`, a bad
    parameter (`name: reason`, as params.bad writes it) gets its `error_fields`."""
    if error.code in (1, 2):
        return V1Error(E_DISABLED if error.code == 1 else E_ADDRESS, API_DISABLED)
    if error.code == 5:
        return V1Error(E_TOO_MANY, error.text, status=error.status,
                       retry_after=error.retry_after)
    if error.code == 4:
        name, sep, reason = error.text.partition(": ")
        if sep:
            return bad_fields({name: reason})
    return V1Error(error.code, error.text)


def body(data: Any, *, error: int | str = 0, text: str = "",
         fields: Mapping[str, str] | None = None) -> str:
    extra = f',"error_fields":{encode(dict(fields))}' if fields else ""
    return (f'{{"error":{encode(error)},"error_text":{string(text)}{extra},'
            f'"data":{encode(data if data is not None else {})}}}')


def ok(data: Any, *, error: int | str = 0) -> HttpResponse:
    """A success; `error` as the method's PHP writes it (create_bid's is the string "0")."""
    return HttpResponse(body(data, error=error), content_type=CONTENT_TYPE)


class V1FailureResponse(HttpResponse):
    """A v1 error answer; `api_error` is its number (counted for /metrics)."""

    api_error: int


def fail(error: V1Error) -> HttpResponse:
    response = V1FailureResponse(body({}, error=error.code, text=error.text,
                                      fields=error.fields),
                                 status=error.status, content_type=CONTENT_TYPE)
    response.api_error = error.code
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    if error.status == 405:
        response["Allow"] = "GET, POST"
    return response


def stream_list(items: Iterable[str]) -> StreamingHttpResponse:
    """`data.items` as a JSON list written as the rows arrive (each element one object)."""
    return StreamingHttpResponse(_chunks(items), content_type=CONTENT_TYPE)


def _chunks(items: Iterable[str]) -> Iterator[bytes]:
    rest = iter(items)
    text = '{"error":0,"error_text":"","data":{"items":[' + ",".join(
        islice(rest, ITEMS_PER_CHUNK))
    while more := ",".join(islice(rest, ITEMS_PER_CHUNK)):
        yield text.encode()
        text = "," + more
    yield (text + "]}}").encode()
