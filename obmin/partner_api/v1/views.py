"""`/api/userapi/v1/<method>` (GET or POST): the key check, the method's handler, the envelope.

Every answer is the v1 envelope, whatever the HTTP method, content type or body: a method
other than GET or POST is `Method not supported` (HTTP 405), a failed key check `Api
disabled`, a bad parameter its `error_fields`; never an HTML page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.http import HttpRequest
from django.http.request import RawPostDataException
from django.http.response import HttpResponseBase
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from obmin.lib import metrics
from obmin.lib.ipmask import client_address
from obmin.partner_api.decorators import EXCHANGE, STATISTICS, admit
from obmin.partner_api.envelope import ApiError
from obmin.partner_api.models import ApiKey
from obmin.partner_api.params import request_params
from obmin.partner_api.selectors import apikey_for_login
from obmin.partner_api.v1 import exchange_methods, partner_methods
from obmin.partner_api.v1.answer import (
    API_DISABLED,
    E_DISABLED,
    E_METHOD,
    METHOD_NOT_SUPPORTED,
    V1Error,
    V1FailureResponse,
    bad_fields,
    fail,
    from_api_error,
)
from obmin.partner_api.v1.catalog import ALL_METHODS, EXCHANGE_METHODS
from obmin.partner_api.v1.request import V1Request

Handler = Callable[[V1Request], HttpResponseBase]

HANDLERS: dict[str, Handler] = {
    "test": partner_methods.test,
    "get_partner_info": partner_methods.get_partner_info,
    "get_partner_links": partner_methods.get_partner_links,
    "get_partner_exchanges": partner_methods.get_partner_exchanges,
    "get_partner_payouts": partner_methods.get_partner_payouts,
    "add_partner_payout": partner_methods.add_partner_payout,
    "get_direction_currencies": exchange_methods.get_direction_currencies,
    "get_directions": exchange_methods.get_directions,
    "get_direction": exchange_methods.get_direction,
    "get_calc": exchange_methods.get_calc,
    "create_bid": exchange_methods.create_bid,
    "bid_info": exchange_methods.bid_info,
    "cancel_bid": exchange_methods.cancel_bid,
    "pay_bid": exchange_methods.pay_bid,
    "success_bid": exchange_methods.success_bid,
    "get_exchanges": exchange_methods.get_exchanges,
}
assert tuple(HANDLERS) == ALL_METHODS


def v1_params(request: HttpRequest) -> dict[str, str]:
    """The query string, then a POST's form or JSON body over it (Premium's clients send
    either; its own Telegram module calls parameterless methods with a plain GET). A name or
    value no database can store (a NUL, an unpaired surrogate) is refused."""
    params = _params(request)
    for name, value in params.items():
        if not _storable(name) or not _storable(value):
            name = name.encode("utf-8", "backslashreplace").decode()
            raise bad_fields({name: _("Text without NUL or unpaired surrogate characters "
                                      "is expected.")})
    return params


def _storable(text: str) -> bool:
    """Whether every database takes the text: PostgreSQL refuses NUL, UTF-8 has no unpaired
    surrogates (a JSON string may hold one: `"\\ud800"`)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _params(request: HttpRequest) -> dict[str, str]:
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if request.method != "POST" or content_type != "application/json":
        return request_params(request)
    params = request.GET.dict()
    try:
        decoded = json.loads(request.body or b"{}")
    except (ValueError, RecursionError, RawPostDataException):
        raise bad_fields({"body": _("A JSON object is expected.")}) from None
    if not isinstance(decoded, dict):
        raise bad_fields({"body": _("A JSON object is expected.")})
    for name, value in decoded.items():
        if isinstance(value, bool):
            params[str(name)] = "1" if value else "0"
        elif isinstance(value, str | int | float):
            params[str(name)] = str(value)
        elif value is not None:
            raise bad_fields({str(name): _("A string or a number is expected.")})
    return params


def _counted_in(method: str, key: ApiKey | None) -> str | None:
    """Where a request of `method` is counted: a bot's exchange methods serve all of its
    customers through one key (PARTNER_API_EXCHANGE_RATE), create_bid only by the key's own
    bid limit (bids.bid_key_refusal, set by the operator) when the key may create bids, the
    partner statistics as api.php's (PARTNER_API_RATE)."""
    if method == "create_bid" and key is not None and key.allows(method):
        return None
    return EXCHANGE if method in EXCHANGE_METHODS else STATISTICS


def language_of(header: str) -> str:
    """Django's language for `API-LANG` (`uk_UA` -> uk); English for anything else."""
    return "uk" if header.strip().lower().startswith("uk") else "en"


@csrf_exempt
def endpoint(request: HttpRequest, method: str) -> HttpResponseBase:
    header = request.META.get("HTTP_API_LANG", "")
    with translation.override(language_of(header)):
        response = answer(request, method, locale=header.strip()[:16] or "en_US")
    metrics.count("obmin_api_calls",
                  method=f"v1/{method}" if method in HANDLERS else "v1/(other)",
                  error=str(response.api_error if isinstance(response, V1FailureResponse)
                            else 0))
    return response


def answer(request: HttpRequest, method: str, *, locale: str) -> HttpResponseBase:
    # The one place a plain request becomes a V1Request: the attributes are set below.
    v1_request = cast(V1Request, request)
    try:
        if request.method not in ("GET", "POST"):
            raise V1Error(E_METHOD, METHOD_NOT_SUPPORTED, status=405)
        v1_request.client_ip = client_address(request.META)
        if not settings.PARTNER_API_ENABLED:
            raise V1Error(E_DISABLED, API_DISABLED)
        params = v1_params(request)
        found = apikey_for_login(request.META.get("HTTP_API_LOGIN", "").strip(),
                                 request.META.get("HTTP_API_KEY", "").strip())
        key = admit(v1_request, found, counted_in=_counted_in(method, found))
        handler = HANDLERS.get(method)
        if handler is None or not key.allows(method):
            raise V1Error(E_METHOD, METHOD_NOT_SUPPORTED)
        v1_request.partner = key.partner
        v1_request.api_params = params
        v1_request.locale = locale
        return handler(v1_request)
    except V1Error as error:
        return fail(error)
    except ApiError as error:
        return fail(from_api_error(error))
