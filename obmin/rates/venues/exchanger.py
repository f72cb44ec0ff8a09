"""Another exchanger's rate export (contract section 3, BestChange XML) as a source: the
symbol `PMUSD-BTC` is what one PMUSD buys of BTC there (out / in). The source's address is
the export's whole URL; its Last-Modified header, when sent, is the venue's time."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from decimal import Decimal

import httpx
from django.utils.http import parse_http_date_safe

from obmin.lib.timeutil import from_unix
from obmin.rates.venues import register
from obmin.rates.venues.base import (
    Answer,
    SymbolProblem,
    Venue,
    VenueError,
    price,
    status_check,
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
        response = client.get(str(client.base_url).rstrip("/"))
        status_check(response)
        if response.status_code != 200:
            raise VenueError(f"HTTP {response.status_code}")
        try:
            # Expat refuses entity expansion bombs; ElementTree fetches no external entities.
            root = ET.fromstring(response.content)  # noqa: S314
        except ET.ParseError:
            raise VenueError("the answer is not XML") from None
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
        answer: Answer = {}
        for symbol in symbols:
            if symbol not in items:
                answer[symbol] = "not listed"
                continue
            try:
                rate_in, rate_out = price(items[symbol][0], "in"), price(items[symbol][1], "out")
                rate: Decimal = rate_out / rate_in
                answer[symbol] = ticker(rate, rate, rate, moment)
            except SymbolProblem as problem:
                answer[symbol] = str(problem)
        return answer
