"""The National Bank of Ukraine's official rates: UAH for one unit of a currency (symbol: its
ISO code, `USD`), once a day. Bid, ask and last are the same official rate."""

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
    get_json,
    ticker,
)


@register
class Nbu(Venue):
    name = "nbu"
    title = "National Bank of Ukraine"
    url = "https://bank.gov.ua"
    symbol_pattern = r"[A-Z]{3}"
    symbol_example = "USD"
    # A daily rate is dated by its day, published the afternoon before.
    clock_tolerance_seconds = 2 * 86400

    def fetch(self, client: httpx.Client, symbols: Sequence[str]) -> Answer:
        data = get_json(client, "/NBUStatService/v1/statdirectory/exchange", {"json": ""})
        rates = {}
        try:
            for item in data:
                rates[str(item["cc"])] = (item["rate"], str(item["exchangedate"]))
        except (KeyError, TypeError):
            raise VenueError("the answer is not as the venue documents it") from None

        def one(symbol: str) -> Ticker:
            if symbol not in rates:
                raise SymbolProblem("not listed")
            rate, day = rates[symbol]
            try:
                moment = datetime.strptime(day, "%d.%m.%Y").replace(tzinfo=UTC)
            except ValueError:
                moment = None
            return ticker(rate, rate, rate, moment)

        return each_symbol(symbols, one)
