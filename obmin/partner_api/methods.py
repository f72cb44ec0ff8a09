"""The api.php methods: parameters in, a source's records out through the wire skin."""

from __future__ import annotations

from collections.abc import Callable

from django.http.response import HttpResponseBase

from obmin.partner_api import answers, params
from obmin.partner_api.sources import Source
from obmin.partner_api.wire import stream_items, success


def get_info(source: Source, options: dict[str, str]) -> HttpResponseBase:
    return success(answers.info_data(source.info()))


def get_exchanges(source: Source, options: dict[str, str]) -> HttpResponseBase:
    window = params.window(options)
    return stream_items(map(answers.exchange_item, source.exchanges(window)))


def get_links(source: Source, options: dict[str, str]) -> HttpResponseBase:
    window, ip = params.window(options), params.ip_filter(options)
    return stream_items(map(answers.click_item, source.links(window, ip)))


def get_payouts(source: Source, options: dict[str, str]) -> HttpResponseBase:
    window = params.window(options)
    return stream_items(map(answers.payout_item, source.payouts(window)))


def add_payout(source: Source, options: dict[str, str]) -> HttpResponseBase:
    payout_id = source.add_payout(options.get("method_id", "").strip(),
                                  options.get("account", ""))
    return success(answers.add_payout_data(payout_id))


METHODS: dict[str, Callable[[Source, dict[str, str]], HttpResponseBase]] = {
    "get_info": get_info,
    "get_exchanges": get_exchanges,
    "get_links": get_links,
    "get_payouts": get_payouts,
    "add_payout": add_payout,
}
