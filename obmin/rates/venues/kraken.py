"""Kraken tickers: GET /0/public/Ticker?pair=XBTUSDT (no venue time in the answer)."""

from __future__ import annotations

from collections.abc import Sequence

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
class Kraken(Venue):
    name = "kraken"
    title = "Kraken"
    url = "https://api.kraken.com"
    symbol_example = "XBTUSDT"
    # Kraken's public endpoints allow about one call a second.
    requests_per_minute = 60

    def fetch(self, client: httpx.Client, symbols: Sequence[str]) -> Answer:
        def one(symbol: str) -> Ticker:
            data = get_json(client, "/0/public/Ticker", {"pair": symbol})
            errors = [str(e) for e in data["error"]]
            if any("Unknown asset pair" in e for e in errors):
                raise SymbolProblem("not listed")
            if errors:
                raise VenueError("; ".join(errors)[:200])
            # Kraken may key the answer by its own name of the pair (XXBTZUSD for XBTUSD).
            (item,) = data["result"].values()
            return ticker(item["b"][0], item["a"][0], item["c"][0])

        return each_symbol(symbols, one)
