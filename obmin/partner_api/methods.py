"""The api.php methods' handlers: parameters in, a source's records out in the wire format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from django.http.response import HttpResponseBase

from obmin.partner_api import params, wire_names
from obmin.partner_api.envelope import stream_items, success
from obmin.partner_api.records import Source


def get_info(source: Source, options: dict[str, str]) -> HttpResponseBase:
    return success(wire_names.info_data(source.info()))


def get_exchanges(source: Source, options: dict[str, str]) -> HttpResponseBase:
    window = replace(params.window(options), sub1=params.sub1_filter(options),
                     updated_since=params.updated_since(options))
    return stream_items(map(wire_names.exchange_item, source.exchanges(window)))


def get_links(source: Source, options: dict[str, str]) -> HttpResponseBase:
    window = replace(params.window(options), sub1=params.sub1_filter(options))
    ip = params.ip_filter(options)
    return stream_items(map(wire_names.click_item, source.links(window, ip)))


def get_payouts(source: Source, options: dict[str, str]) -> HttpResponseBase:
    window = params.window(options)
    return stream_items(map(wire_names.payout_item, source.payouts(window)))


def add_payout(source: Source, options: dict[str, str]) -> HttpResponseBase:
    payout_id = source.add_payout(options.get("method_id", "").strip(),
                                  options.get("account", ""))
    return success(wire_names.add_payout_data(payout_id))


Handler = Callable[[Source, dict[str, str]], HttpResponseBase]

# api.php's `method` parameter -> its handler (schema.METHODS documents the same names).
HANDLERS: dict[str, Handler] = {
    "get_info": get_info,
    "get_exchanges": get_exchanges,
    "get_links": get_links,
    "get_payouts": get_payouts,
    "add_payout": add_payout,
}
