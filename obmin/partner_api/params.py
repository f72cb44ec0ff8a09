"""Reading api.php parameters: from the query string or the form body, checked strictly.

A bad value is error 4 with the parameter's name first in the text, never a guess: a script
that sends `start_time=yesterday` learns so instead of silently getting everything.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.http import HttpRequest, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _

from obmin.lib.ipmask import normalize_ip
from obmin.lib.models import SOURCE_MAX_LENGTH
from obmin.lib.timeutil import from_unix
from obmin.partner_api.envelope import ApiError
from obmin.partner_api.records import Window

# 9999-12-31 23:59:59 UTC: the last second a datetime can hold.
MAX_UNIX = 253_402_300_799
# Far beyond any real history, and well inside every database's integer range.
MAX_PAGE = 2**31 - 1
DIGITS = re.compile(r"[0-9]{1,15}")


def request_params(request: HttpRequest) -> dict[str, str]:
    """Query string and form body merged; the body wins when both name a parameter."""
    params = request.GET.dict()
    if request.method == "POST":
        # A malformed body reads as no body parameters (the key check then answers).
        with contextlib.suppress(MultiPartParserError, UnreadablePostError, ValueError):
            params.update(request.POST.dict())
    return params


def bad(name: str, reason: str) -> ApiError:
    return ApiError(4, f"{name}: {reason}")


def optional_int(params: Mapping[str, str], name: str, *, minimum: int,
                 maximum: int) -> int | None:
    raw = params.get(name, "").strip()
    if raw == "":
        return None
    if not DIGITS.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        raise bad(name, _("a whole number from %(min)s to %(max)s is expected.")
                  % {"min": minimum, "max": maximum})
    return int(raw)


def optional_time(params: Mapping[str, str], name: str) -> datetime | None:
    seconds = optional_int(params, name, minimum=0, maximum=MAX_UNIX)
    return None if seconds is None else from_unix(seconds)


def window(params: Mapping[str, str]) -> Window:
    """`start_time`, `end_time` (inclusive unix seconds), `offset`, `limit`; items newest
    first, as Premium lists them."""
    end = optional_time(params, "end_time")
    return Window(
        start=optional_time(params, "start_time"),
        # Stored times keep microseconds but `time` is reported in whole seconds: an item
        # reported at `end_time` may have happened up to a second later, and belongs in.
        end=None if end is None else end + timedelta(seconds=1, microseconds=-1),
        offset=optional_int(params, "offset", minimum=0, maximum=MAX_PAGE) or 0,
        limit=optional_int(params, "limit", minimum=1, maximum=MAX_PAGE),
        newest_first=True,
    )


def sub1_filter(params: Mapping[str, str]) -> str | None:
    """`sub1`: only the items of that traffic source (as the click stored it), or None."""
    raw = params.get("sub1", "")
    if raw == "":
        return None
    if len(raw) > SOURCE_MAX_LENGTH or not raw.isprintable() or raw != raw.strip():
        raise bad("sub1", _("printable text of up to %(max)s characters is expected.")
                  % {"max": SOURCE_MAX_LENGTH})
    return raw


def updated_since(params: Mapping[str, str]) -> datetime | None:
    """`updated_since` (unix seconds): only the exchanges changed at or after it."""
    return optional_time(params, "updated_since")


def ip_filter(params: Mapping[str, str]) -> str:
    raw = params.get("ip", "").strip()
    if raw == "":
        return ""
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        raise bad("ip", _("an IPv4 or IPv6 address is expected.")) from None
    # Canonical, as clicks are stored: `2001:DB8::0` finds `2001:db8::`.
    return normalize_ip(raw)
