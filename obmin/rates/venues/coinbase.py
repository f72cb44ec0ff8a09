"""Coinbase Exchange tickers: GET /products/BTC-USD/ticker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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


def _time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


@register
class Coinbase(Venue):
    name = "coinbase"
    title = "Coinbase"
    url = "https://api.exchange.coinbase.com"
    symbol_pattern = r"[A-Z0-9]{1,15}-[A-Z0-9]{1,15}"
    symbol_example = "BTC-USD"
    # Coinbase Exchange allows 10 public requests a second; a tenth of that is ours.
    requests_per_minute = 60

    def fetch(self, client: httpx.Client, symbols: Sequence[str]) -> Answer:
        def one(symbol: str) -> Ticker:
            data = get_json(client, f"/products/{symbol}/ticker", ok_statuses=(200, 404))
            if "price" not in data:  # 404 {"message": "NotFound"}
                raise SymbolProblem(f"not listed ({data.get('message', 'not found')})"[:200])
            return ticker(data["bid"], data["ask"], data["price"], _time(data.get("time")))

        return each_symbol(symbols, one)
