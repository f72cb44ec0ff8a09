"""`api_key_required`: reads the key, puts its partner on the request, or answers the error.

Views behind it read only through `request.partner` (and `request.api_key`), so a partner's
answer is built from its own rows by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Concatenate, ParamSpec, cast

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _

from obmin.lib.ipmask import client_address
from obmin.lib.ratelimit import seconds_to_wait
from obmin.partner_api.envelope import ApiError, failure
from obmin.partner_api.models import ApiKey
from obmin.partner_api.params import request_params
from obmin.partner_api.selectors import apikey_for_raw
from obmin.partners.models import Partner

P = ParamSpec("P")

# last_used_at is written at most this often per key: the hot path stays a read.
TOUCH_EVERY = timedelta(minutes=1)


class ApiRequest(HttpRequest):
    """A request as `api_key_required` hands it to the view, with what it put on it."""

    client_ip: str
    api_key: ApiKey
    partner: Partner
    api_params: dict[str, str]


def _key_rate(group: str, request: ApiRequest) -> str:
    return settings.PARTNER_API_EXCHANGE_RATE if group == EXCHANGE else settings.PARTNER_API_RATE


# A key's requests are counted in one of these (or, for create_bid, by its bid limit alone):
STATISTICS = "partner_api:key"  # api.php and v1's partner methods: a partner's own script
EXCHANGE = "partner_api:v1_exchange"  # v1's exchange methods: a bot serving many customers


def _bad_key_rate(group: str, request: ApiRequest) -> str:
    return settings.PARTNER_API_BAD_KEY_RATE


def _api_key_id(group: str, request: ApiRequest) -> str:
    return str(request.api_key.pk)


def _client_ip(group: str, request: ApiRequest) -> str:
    return request.client_ip


def _limit(request: ApiRequest, group: str, key: Callable[[str, ApiRequest], str],
           rate: Callable[[str, ApiRequest], str]) -> None:
    """Counts one request in the shared cache; raises error 5 beyond the rate."""
    retry_after = seconds_to_wait(group, key(group, request), rate(group, request))
    if retry_after is not None:
        raise ApiError(5, _("Too many requests; try again in %(seconds)s s.")
                       % {"seconds": retry_after}, status=429, retry_after=retry_after)


def raw_key(request: HttpRequest, params: dict[str, str]) -> str:
    """`Authorization: Bearer <key>` (keeps the key out of URLs and logs), else `api_key`."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, value = header.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return params.get("api_key", "").strip()


def authenticate(request: ApiRequest, params: dict[str, str]) -> ApiKey:
    """Sets request.client_ip, then request.api_key once the key may be used."""
    request.client_ip = client_address(request.META)
    if not settings.PARTNER_API_ENABLED:
        raise ApiError(1, _("The partner API is disabled."))
    return admit(request, apikey_for_raw(raw_key(request, params)))


def admit(request: ApiRequest, key: ApiKey | None, *,
          counted_in: str | None = STATISTICS) -> ApiKey:
    """The checks after the look-up, shared by api.php and API v1: a blocked partner, the
    address, the rate limits (counted per address for failures, per key beyond in
    `counted_in`, or not at all when None: a method counted by its own limit); sets
    request.api_key and touches last_used_at. Needs request.client_ip set."""
    if key is None or key.partner.is_blocked:
        # Failed keys are counted per address, so guessing costs the guesser, not the site.
        _limit(request, "partner_api:bad_key", _client_ip, _bad_key_rate)
        if key is None:
            raise ApiError(1, _("Unknown or revoked API key."))
        raise ApiError(1, _("API access is disabled for this account."))
    if not key.ip_allowed(request.client_ip):
        # Counted like a bad key: a leaked key tried from elsewhere costs its user too.
        _limit(request, "partner_api:bad_key", _client_ip, _bad_key_rate)
        raise ApiError(2, _("This API key may not be used from %(ip)s.")
                       % {"ip": request.client_ip or "?"})
    request.api_key = key
    if counted_in is not None:
        _limit(request, counted_in, _api_key_id, _key_rate)
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def api_key_required(
    view: Callable[Concatenate[ApiRequest, P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        # The one place a plain request becomes an ApiRequest: the attributes are set below.
        api_request = cast(ApiRequest, request)
        params = request_params(request)
        try:
            key = authenticate(api_request, params)
        except ApiError as error:
            return failure(error)
        api_request.partner = key.partner
        api_request.api_params = params
        return view(api_request, *args, **kwargs)

    return wrapper
