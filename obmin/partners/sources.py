"""A click's traffic source: the partner's sub-IDs and the UTM tags, read from the /ref/ query
string, and the companion cookie that carries them (with the click's country) to the exchange
the click brings.

Values come from strangers: each is kept as printable text only (control, format and other
invisible characters dropped), trimmed and cut to 64 characters; a value that is left empty is
dropped. Nothing here raises on what a client sends.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping

from obmin.lib.models import SOURCE_FIELDS, SOURCE_MAX_LENGTH

SOURCE_COOKIE = "obmin_src"
# The source and the country: what an exchange copies from the click that referred it.
CARRIED_FIELDS = (*SOURCE_FIELDS, "country")
_SOURCE_NAMES = frozenset(SOURCE_FIELDS)
_COUNTRY = re.compile(r"[A-Z]{2}")
# partner id, click time (the referral cookie's own value), then the fields as base64url JSON.
_COOKIE = re.compile(r"([0-9]{1,18})\.([0-9]{1,12})\.([A-Za-z0-9_-]{1,4000})=*")


def clean_value(value: str, limit: int = SOURCE_MAX_LENGTH) -> str:
    """Printable text only, trimmed, at most `limit` characters ("" when nothing is left): how
    sources are stored, and so how the cabinet's filters read what they look for."""
    value = value[: limit * 4]
    if not value.isprintable():
        value = "".join(char for char in value if char.isprintable())
    return value.strip()[:limit].strip()


def source_of(params: list[tuple[str, str]]) -> dict[str, str]:
    """The sub-IDs and UTM tags among a parsed query string's pairs (the first of each name
    counts; names are matched exactly, as partners and ad tools write them)."""
    found: dict[str, str] = {}
    for name, value in params:
        if name in _SOURCE_NAMES and name not in found:
            found[name] = clean_value(value)
    return {name: value for name, value in found.items() if value}


def clean_country(value: object) -> str:
    return value if isinstance(value, str) and _COUNTRY.fullmatch(value) else ""


def source_cookie_value(*, partner_id: int, clicked_at: int, fields: Mapping[str, str]) -> str:
    """The companion cookie of a click: tied to the referral cookie's value, so that it counts
    only while that cookie names the same click."""
    carried = {name: fields[name] for name in CARRIED_FIELDS if fields.get(name)}
    encoded = base64.urlsafe_b64encode(
        json.dumps(carried, ensure_ascii=False, separators=(",", ":")).encode()).rstrip(b"=")
    return f"{partner_id}.{clicked_at}.{encoded.decode()}"


def source_from_cookie(value: str, *, partner_id: int, clicked_at: int) -> dict[str, str]:
    """The click's source and country from its companion cookie, when the cookie belongs to
    the referral cookie's click (partner and time); each value cleaned again, since a client
    may send any cookie. {} otherwise."""
    match = _COOKIE.fullmatch(value or "")
    if match is None or (int(match[1]), int(match[2])) != (partner_id, clicked_at):
        return {}
    data = match[3]
    try:
        carried = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        return {}
    if not isinstance(carried, dict):
        return {}
    found = {name: clean_value(value) for name, value in carried.items()
             if name in _SOURCE_NAMES and isinstance(value, str)}
    found["country"] = clean_country(carried.get("country"))
    return {name: value for name, value in found.items() if value}
