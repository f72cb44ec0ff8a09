"""Binance spot tickers: GET /api/v3/ticker/24hr?symbol=BTCUSDT."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from obmin.rates.venues import register
from obmin.rates.venues.base import (
    Answer,
    SymbolProblem,
    Ticker,
    Venue,
    each_symbol,
    from_millis,
    get_json,
    ticker,
)


@register
class Binance(Venue):
    name = "binance"
    title = "Binance"
    url = "https://api.binance.com"

    def fetch(self, client: httpx.Client, symbols: Sequence[str]) -> Answer:
        def one(symbol: str) -> Ticker:
            # 400 with code -1121 is Binance's "Invalid symbol": delisted or never listed.
            data = get_json(client, "/api/v3/ticker/24hr", {"symbol": symbol},
                            ok_statuses=(200, 400))
            if "code" in data:
                raise SymbolProblem(f"not listed ({data.get('msg', data['code'])})")
            return ticker(data["bidPrice"], data["askPrice"], data["lastPrice"],
                          from_millis(data["closeTime"]))

        return each_symbol(symbols, one)
