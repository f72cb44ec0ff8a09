"""`api_key_required`: reads the key, puts its partner on the request, or answers the error.

Views behind it read only through `request.partner` (and `request.api_key`), so a partner's
answer is built from its own rows by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage

from obmin.lib.ipmask import client_ip
from obmin.partner_api.models import ApiKey
from obmin.partner_api.params import request_params
from obmin.partner_api.selectors import apikey_for_raw
from obmin.partner_api.wire import ApiError, failure
from obmin.partners.program import program_settings

# last_used_at is written at most this often per key: the hot path stays a read.
TOUCH_EVERY = timedelta(minutes=1)


def _key_rate(group: str, request: HttpRequest) -> str:
    return getattr(settings, "PARTNER_API_RATE", "60/m")


def _bad_key_rate(group: str, request: HttpRequest) -> str:
    return getattr(settings, "PARTNER_API_BAD_KEY_RATE", "20/m")


def _api_key_id(group: str, request: HttpRequest) -> str:
    return str(request.api_key.pk)  # type: ignore[attr-defined]


def _client_ip(group: str, request: HttpRequest) -> str:
    return request.client_ip  # type: ignore[attr-defined]


def _limit(request: HttpRequest, group: str, key: Callable, rate: Callable) -> None:
    """Counts one request in the shared cache; raises error 5 beyond the rate."""
    usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
    if usage is not None and usage["should_limit"]:
        retry_after = max(int(usage["time_left"]), 1)
        raise ApiError(5, _("Too many requests; try again in %(seconds)s s.")
                       % {"seconds": retry_after}, status=429, retry_after=retry_after)


def raw_key(request: HttpRequest, params: dict[str, str]) -> str:
    """`Authorization: Bearer <key>` (keeps the key out of URLs and logs), else `api_key`."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, value = header.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return params.get("api_key", "").strip()


def authenticate(request: HttpRequest, params: dict[str, str]) -> ApiKey:
    request.client_ip = client_ip(  # type: ignore[attr-defined]
        request.META, trust_forwarded_for=program_settings().trust_forwarded_for)
    if not getattr(settings, "PARTNER_API_ENABLED", True):
        raise ApiError(1, _("The partner API is disabled."))
    key = apikey_for_raw(raw_key(request, params))
    if key is None or key.partner.is_blocked:
        # Failed keys are counted per address, so guessing costs the guesser, not the site.
        _limit(request, "partner_api:bad_key", _client_ip, _bad_key_rate)
        if key is None:
            raise ApiError(1, _("Unknown or revoked API key."))
        raise ApiError(1, _("API access is disabled for this account."))
    if not key.ip_allowed(request.client_ip):  # type: ignore[attr-defined]
        # Counted like a bad key: a leaked key tried from elsewhere costs its user too.
        _limit(request, "partner_api:bad_key", _client_ip, _bad_key_rate)
        raise ApiError(2, _("This API key may not be used from %(ip)s.")
                       % {"ip": request.client_ip or "?"})  # type: ignore[attr-defined]
    request.api_key = key  # type: ignore[attr-defined]
    _limit(request, "partner_api:key", _api_key_id, _key_rate)
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def api_key_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:  # type: ignore[no-untyped-def]
        params = request_params(request)
        try:
            key = authenticate(request, params)
        except ApiError as error:
            return failure(error)
        request.partner = key.partner  # type: ignore[attr-defined]
        request.api_params = params  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper
