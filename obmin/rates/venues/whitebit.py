"""WhiteBIT tickers: GET /api/v1/public/ticker?market=BTC_USDT."""

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
    get_json,
    ticker,
)


@register
class WhiteBit(Venue):
    name = "whitebit"
    title = "WhiteBIT"
    url = "https://whitebit.com"
    symbol_pattern = r"[A-Z0-9]{1,15}_[A-Z0-9]{1,15}"
    symbol_example = "BTC_USDT"

    def fetch(self, client: httpx.Client, symbols: Sequence[str]) -> Answer:
        def one(symbol: str) -> Ticker:
            # An unknown market: success false (HTTP 200 or 422) and a message.
            data = get_json(client, "/api/v1/public/ticker", {"market": symbol},
                            ok_statuses=(200, 400, 422))
            if not data.get("success") or not data.get("result"):
                raise SymbolProblem(f"not listed ({data.get('message') or 'no market'})"[:200])
            result = data["result"]
            return ticker(result["bid"], result["ask"], result["last"])

        return each_symbol(symbols, one)
