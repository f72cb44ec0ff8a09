"""What every venue adapter shares: the ticker it answers, its errors, and reading JSON.

An adapter is a `Venue` subclass in a module of its own in this package, registered with
`@register`; `fetch` asks the venue's public REST API (no key) for some symbols and answers,
per symbol, a `Ticker` or the reason there is none (delisted, a price that is not positive).
A failure of the whole venue (timeout, HTTP 429 or 5xx, an answer that is not what the venue
documents) raises `VenueError` (`RateLimited` for 429, with the wait the venue asked for).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import httpx


@dataclass(frozen=True)
class Ticker:
    """A venue's prices for one symbol; `venue_time` is the venue's own clock, if it sends it."""

    bid: Decimal
    ask: Decimal
    last: Decimal
    venue_time: datetime | None = None


class VenueError(Exception):
    """The venue answered nothing usable this time; the message says what went wrong."""


class RateLimited(VenueError):
    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SymbolProblem(Exception):
    """One symbol has no usable price (delisted, zero or negative); others may."""


# Per symbol: its ticker, or the reason there is none.
Answer = dict[str, "Ticker | str"]


class Venue:
    """One market data source. Subclasses set the class attributes and `fetch`."""

    name: ClassVar[str]  # registry key, stored on RateSource.venue
    title: ClassVar[str]
    url: ClassVar[str]  # the public API's base address
    symbol_pattern: ClassVar[str] = r"[A-Z0-9]{2,30}"
    # How far the venue's clock may run ahead of ours before its quotes are not trusted (a
    # frozen feed stamped in the future would otherwise look fresh until then).
    clock_tolerance_seconds: ClassVar[float] = 30
    # Our request budget at the venue, well under its public limit: a source asked for many
    # symbols one request each is polled less often than its interval rather than beyond it.
    requests_per_minute: ClassVar[int] = 600
    symbol_example: ClassVar[str] = "BTCUSDT"

    def symbol_problem(self, symbol: str) -> str:
        """"" when the venue can have such a symbol, else how it writes them."""
        if re.fullmatch(self.symbol_pattern, symbol):
            return ""
        return f"{self.title} writes symbols like {self.symbol_example}"

    def fetch(self, client: httpx.Client, symbols: Sequence[str]) -> Answer:
        raise NotImplementedError


def status_check(response: httpx.Response) -> None:
    """VenueError for an answer that says the venue is busy or broken."""
    if response.status_code == 429 or response.status_code == 418:
        retry = response.headers.get("Retry-After", "")
        raise RateLimited(f"HTTP {response.status_code}: too many requests",
                          float(retry) if retry.strip().isdigit() else None)
    if response.status_code >= 500:
        raise VenueError(f"HTTP {response.status_code}")


def get_json(client: httpx.Client, path: str, params: dict[str, str] | None = None, *,
             ok_statuses: Sequence[int] = (200,)) -> Any:
    """The JSON answer of a GET (numbers as Decimal), or VenueError."""
    response = client.get(path, params=params)
    status_check(response)
    if response.status_code not in ok_statuses:
        raise VenueError(f"HTTP {response.status_code}")
    try:
        return json.loads(response.content, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise VenueError("the answer is not JSON") from None


def get_xml(client: httpx.Client, path: str) -> tuple[ET.Element, httpx.Response]:
    """The XML document of a GET (its root) and the response (for its headers), or
    VenueError."""
    response = client.get(path)
    status_check(response)
    if response.status_code != 200:
        raise VenueError(f"HTTP {response.status_code}")
    try:
        # Expat refuses entity expansion bombs; ElementTree fetches no external entities.
        return ET.fromstring(response.content), response  # noqa: S314
    except ET.ParseError:
        raise VenueError("the answer is not XML") from None


def price(value: object, what: str = "price") -> Decimal:
    """A price the venue sent: a positive number, or SymbolProblem."""
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise SymbolProblem(f"{what} is not a number: {str(value)[:40]!r}") from None
    if not number.is_finite() or number <= 0:
        raise SymbolProblem(f"{what} is not positive: {number}")
    return number


def ticker(bid: object, ask: object, last: object,
           venue_time: datetime | None = None) -> Ticker:
    return Ticker(price(bid, "bid"), price(ask, "ask"), price(last, "last"), venue_time)


def from_millis(value: object) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(Decimal(str(value))) / 1000, tz=UTC)
    except (InvalidOperation, ValueError, OverflowError, OSError):
        return None


def each_symbol(symbols: Sequence[str], one: Any) -> Answer:
    """Each symbol's ticker, `one(symbol)` (a request per symbol, or a look-up in one
    document); a SymbolProblem is that symbol's answer, a KeyError or TypeError (an answer
    not as documented) the venue's."""
    answer: Answer = {}
    for symbol in symbols:
        try:
            answer[symbol] = one(symbol)
        except SymbolProblem as problem:
            answer[symbol] = str(problem)
        except (KeyError, TypeError, IndexError, AttributeError):
            raise VenueError("the answer is not as the venue documents it") from None
    return answer
