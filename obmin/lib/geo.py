"""The country of an IP address, looked up offline: ISO 3166 alpha-2, or "" when unknown.

The data ships inside the `iptocc` package (regional registries' delegations, compiled into
the extension and loaded once per process on first use, a fraction of a microsecond a
look-up). An operator with a MaxMind database (GeoIP2 / GeoLite2 Country or City) names its
file in `GEOIP_DB`; it is asked first, and the built-in data answers what it does not know.
Private, loopback, reserved and malformed addresses are "".
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

import iptocc
import maxminddb
from django.conf import settings
from django.core.signals import setting_changed

logger = logging.getLogger(__name__)


def country_of(ip: str) -> str:
    """`8.8.8.8` -> "US"; `10.0.0.1`, "" and "bogus" -> ""."""
    if not ip:
        return ""
    reader = _configured()
    if reader is not None:
        code = _maxmind_country(reader, ip)
        if code:
            return code
    return _valid(iptocc.country_code(ip))


@cache
def _configured() -> maxminddb.Reader | None:
    # Read once per process: on every click, Django's lazy settings object would cost ten
    # times the look-up itself.
    return _maxmind(settings.GEOIP_DB) if settings.GEOIP_DB else None


def _forget(*, setting: str, **kwargs: object) -> None:
    if setting == "GEOIP_DB":
        _configured.cache_clear()


setting_changed.connect(_forget, dispatch_uid="obmin_geo_forget")


def _valid(code: object) -> str:
    if isinstance(code, str) and len(code) == 2 and code.isascii() and code.isalpha():
        return code.upper()
    return ""


@cache
def _maxmind(path: str) -> maxminddb.Reader | None:
    """The database, opened once per process (memory-mapped); None when it cannot be read,
    logged once, so that a missing file never costs a click its redirect."""
    try:
        return maxminddb.open_database(path)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as error:
        logger.warning("GEOIP_DB %s cannot be read (%s); using the built-in data", path, error)
        return None


def _maxmind_country(reader: maxminddb.Reader, ip: str) -> str:
    try:
        record: Any = reader.get(ip)
    except (ValueError, maxminddb.InvalidDatabaseError):
        return ""
    if not isinstance(record, dict):
        return ""
    # City and Country databases alike; `registered_country` when the place is not known.
    for key in ("country", "registered_country"):
        place = record.get(key)
        if isinstance(place, dict):
            code = _valid(place.get("iso_code"))
            if code:
                return code
    return ""
