"""The European Central Bank's reference rates: units of a currency for one euro (symbol: its
ISO code, `USD`), once a working day. Bid, ask and last are the same reference rate."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import httpx

from obmin.rates.venues import register
from obmin.rates.venues.base import (
    Answer,
    SymbolProblem,
    Ticker,
    Venue,
    VenueError,
    each_symbol,
    get_xml,
    ticker,
)

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
        root, _response = get_xml(client, "/stats/eurofxref/eurofxref-daily.xml")
        day = next((cube for cube in root.iter(CUBE) if cube.get("time")), None)
        if day is None:
            raise VenueError("the answer has no day's rates")
        try:
            moment = datetime.strptime(day.get("time", ""), "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise VenueError("the day's date is not a date") from None
        rates = {cube.get("currency"): cube.get("rate") for cube in day.iter(CUBE)
                 if cube.get("currency")}

        def one(symbol: str) -> Ticker:
            if symbol not in rates:
                raise SymbolProblem("not listed")
            return ticker(rates[symbol], rates[symbol], rates[symbol], moment)

        return each_symbol(symbols, one)
