"""Bybit spot tickers: GET /v5/market/tickers?category=spot&symbol=BTCUSDT."""

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
    from_millis,
    get_json,
    ticker,
)

NOT_SUPPORTED = 10001  # retCode of an unknown symbol


@register
class Bybit(Venue):
    name = "bybit"
    title = "Bybit"
    url = "https://api.bybit.com"

    def fetch(self, client: httpx.Client, symbols: Sequence[str]) -> Answer:
        def one(symbol: str) -> Ticker:
            data = get_json(client, "/v5/market/tickers",
                            {"category": "spot", "symbol": symbol})
            code = int(data["retCode"])
            if code == NOT_SUPPORTED or (code == 0 and not data["result"]["list"]):
                raise SymbolProblem(f"not listed ({data.get('retMsg', code)})")
            if code != 0:
                raise VenueError(f"retCode {code}: {data.get('retMsg', '')}"[:200])
            item = data["result"]["list"][0]
            return ticker(item["bid1Price"], item["ask1Price"], item["lastPrice"],
                          from_millis(data["time"]))

        return each_symbol(symbols, one)
