"""Another exchanger's rate export (contract section 3, BestChange XML) as a source: the
symbol `PMUSD-BTC` is what one PMUSD buys of BTC there (out / in). The source's address is
the export's whole URL; its Last-Modified header, when sent, is the venue's time."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import httpx
from django.utils.http import parse_http_date_safe

from obmin.lib.timeutil import from_unix
from obmin.rates.venues import register
from obmin.rates.venues.base import (
    Answer,
    SymbolProblem,
    Ticker,
    Venue,
    VenueError,
    each_symbol,
    get_xml,
    price,
    ticker,
)


@register
class ExchangerExport(Venue):
    name = "exchanger"
    title = "Another exchanger's XML export"
    url = "https://exchanger.example/request-exportxml.xml"
    symbol_pattern = r"[A-Z0-9]{2,20}-[A-Z0-9]{2,20}"
    symbol_example = "PMUSD-BTC"

    def fetch(self, client: httpx.Client, symbols: Sequence[str]) -> Answer:
        # The source's address is the export itself, not a base to add paths to.
        root, response = get_xml(client, str(client.base_url).rstrip("/"))
        if root.tag != "rates":
            raise VenueError(f"the export answers <{root.tag}>, not <rates>")
        modified = parse_http_date_safe(response.headers.get("Last-Modified", ""))
        moment = from_unix(modified) if modified is not None else None
        items: dict[str, tuple[str, str]] = {}
        for item in root.findall("item"):
            if (item.findtext("city") or "").strip():
                continue  # cash in a city: not a market rate
            pair = f"{(item.findtext('from') or '').strip()}-{(item.findtext('to') or '').strip()}"
            items.setdefault(pair.upper(), (item.findtext("in") or "", item.findtext("out") or ""))

        def one(symbol: str) -> Ticker:
            if symbol not in items:
                raise SymbolProblem("not listed")
            rate_in, rate_out = price(items[symbol][0], "in"), price(items[symbol][1], "out")
            rate: Decimal = rate_out / rate_in
            return ticker(rate, rate, rate, moment)

        return each_symbol(symbols, one)
