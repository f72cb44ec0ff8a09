"""The European Central Bank's reference rates: units of a currency for one euro (symbol: its
ISO code, `USD`), once a working day. Bid, ask and last are the same reference rate."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx

from obmin.rates.venues import register
from obmin.rates.venues.base import Answer, SymbolProblem, Venue, VenueError, status_check, ticker

CUBE = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}Cube"


@register
class Ecb(Venue):
    name = "ecb"
    title = "European Central Bank"
    url = "https://www.ecb.europa.eu"
    symbol_pattern = r"[A-Z]{3}"
    symbol_example = "USD"
    # A daily rate is dated by its day, published the afternoon before.
    clock_tolerance_seconds = 2 * 86400

    def fetch(self, client: httpx.Client, symbols: Sequence[str]) -> Answer:
        response = client.get("/stats/eurofxref/eurofxref-daily.xml")
        status_check(response)
        if response.status_code != 200:
            raise VenueError(f"HTTP {response.status_code}")
        try:
            # The ECB's own file; expat refuses entity expansion bombs, and ElementTree
            # fetches no external entities.
            root = ET.fromstring(response.content)  # noqa: S314
        except ET.ParseError:
            raise VenueError("the answer is not XML") from None
        day = next((cube for cube in root.iter(CUBE) if cube.get("time")), None)
        if day is None:
            raise VenueError("the answer has no day's rates")
        try:
            moment = datetime.strptime(day.get("time", ""), "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise VenueError("the day's date is not a date") from None
        rates = {cube.get("currency"): cube.get("rate") for cube in day.iter(CUBE)
                 if cube.get("currency")}
        answer: Answer = {}
        for symbol in symbols:
            if symbol not in rates:
                answer[symbol] = "not listed"
                continue
            rate = rates[symbol]
            try:
                answer[symbol] = ticker(rate, rate, rate, moment)
            except SymbolProblem as problem:
                answer[symbol] = str(problem)
        return answer
