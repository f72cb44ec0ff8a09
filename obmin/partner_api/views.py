"""api.php, its documentation page and its OpenAPI document. Thin: rules live elsewhere."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from obmin.partner_api import answers, params
from obmin.partner_api.decorators import api_key_required
from obmin.partner_api.sandbox import SandboxSource
from obmin.partner_api.sources import LiveSource, Source
from obmin.partner_api.wire import ApiError, failure, stream_items, success


def get_info(source: Source, options: dict[str, str]) -> HttpResponse:
    return success(answers.info_data(source.info()))


def get_exchanges(source: Source, options: dict[str, str]) -> HttpResponse:
    window = params.window(options)
    return stream_items(map(answers.exchange_item, source.exchanges(window)))


def get_links(source: Source, options: dict[str, str]) -> HttpResponse:
    window, ip = params.window(options), params.ip_filter(options)
    return stream_items(map(answers.click_item, source.links(window, ip)))


def get_payouts(source: Source, options: dict[str, str]) -> HttpResponse:
    window = params.window(options)
    return stream_items(map(answers.payout_item, source.payouts(window)))


def add_payout(source: Source, options: dict[str, str]) -> HttpResponse:
    payout_id = source.add_payout(options.get("method_id", "").strip(),
                                  options.get("account", ""))
    return success(answers.add_payout_data(payout_id))


METHODS: dict[str, Callable[[Source, dict[str, str]], HttpResponse]] = {
    "get_info": get_info,
    "get_exchanges": get_exchanges,
    "get_links": get_links,
    "get_payouts": get_payouts,
    "add_payout": add_payout,
}


@csrf_exempt
@require_http_methods(["GET", "POST"])
@api_key_required
def api(request: HttpRequest) -> HttpResponse:
    options: dict[str, str] = request.api_params  # type: ignore[attr-defined]
    try:
        if options.get("api_action", "") != "pp":
            raise ApiError(3, _("Unknown api_action; use api_action=pp."))
        method = METHODS.get(options.get("method", ""))
        if method is None:
            raise ApiError(3, _("Unknown method; use one of: %(methods)s.")
                           % {"methods": ", ".join(METHODS)})
        key = request.api_key  # type: ignore[attr-defined]
        source: Source = (SandboxSource(key) if key.is_test
                          else LiveSource(request.partner))  # type: ignore[attr-defined]
        return method(source, options)
    except ApiError as error:
        return failure(error)
