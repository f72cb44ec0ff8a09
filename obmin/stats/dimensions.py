"""What a click is broken down by, and how a stored column becomes a breakdown's value."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from obmin.lib.ipmask import mask_ip
from obmin.stats.models import Dimension

VALUE_MAX_LENGTH = 255
# Dimensions whose value is a column of the click (and of the exchange) as stored.
PLAIN = ("sub1", "sub2", "sub3", "sub4", "sub5", "utm_source", "utm_medium", "utm_campaign",
         "country")
_VERSION = re.compile(r"\s+[\d.]+\Z")


def browser_family(browser: str) -> str:
    """`Chrome 120` -> `Chrome`, `Mobile Safari 17` -> `Mobile Safari`."""
    return _VERSION.sub("", browser or "")


def referrer_domain(referrer: str) -> str:
    """`https://www.BestChange.com/x?y` -> `bestchange.com`; "" when none or unreadable."""
    if not referrer:
        return ""
    try:
        host = urlsplit(referrer if "//" in referrer else "//" + referrer).hostname or ""
    except ValueError:
        return ""
    host = host.lower()
    return host[4:] if host.startswith("www.") else host


def network(ip: str) -> str:
    """The /24 of an IPv4 address, the /48 of an IPv6 one; "" when unknown."""
    masked = mask_ip(ip or "")
    if not masked:
        return ""
    return masked + ("/48" if ":" in masked else "/24")


# dimension -> (the click's column, how its value becomes the breakdown's)
DERIVED: dict[str, tuple[str, Callable[[str], str]]] = {
    Dimension.BROWSER: ("browser", browser_family),
    Dimension.REFERRER: ("referrer", referrer_domain),
    Dimension.NETWORK: ("ip", network),
}
# Rolled up hourly. A network has nearly as many values as clicks (a rollup row per click),
# so the overview reads it from the raw clicks of its period instead.
ROLLED = [d.value for d in Dimension if d != Dimension.NETWORK]


def click_column(dimension: str) -> str:
    return DERIVED[dimension][0] if dimension in DERIVED else dimension


def value_of(dimension: str, stored: str | None) -> str:
    value = DERIVED[dimension][1](stored or "") if dimension in DERIVED else (stored or "")
    return value[:VALUE_MAX_LENGTH]
