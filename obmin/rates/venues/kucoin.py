"""KuCoin best bid and ask: GET /api/v1/market/orderbook/level1?symbol=BTC-USDT."""

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

OK = "200000"


@register
class KuCoin(Venue):
    name = "kucoin"
    title = "KuCoin"
    url = "https://api.kucoin.com"
    symbol_pattern = r"[A-Z0-9]{1,15}-[A-Z0-9]{1,15}"
    symbol_example = "BTC-USDT"

    def fetch(self, client: httpx.Client, symbols: Sequence[str]) -> Answer:
        def one(symbol: str) -> Ticker:
            data = get_json(client, "/api/v1/market/orderbook/level1", {"symbol": symbol})
            if str(data["code"]) != OK:
                raise VenueError(f"code {data['code']}: {data.get('msg', '')}"[:200])
            item = data["data"]
            if not item:  # KuCoin answers an unknown symbol with data null
                raise SymbolProblem("not listed")
            return ticker(item["bestBid"], item["bestAsk"], item["price"],
                          from_millis(item["time"]))

        return each_symbol(symbols, one)
