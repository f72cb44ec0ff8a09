"""`/ref/<code>/`: the partner link and the monitoring hand-off.

On the path of paid traffic, so it is lean: the partner, the program settings and the active
directions come from the cache; a click costs one XADD to Redis, or one INSERT without it (and
a look-up first for a returning visitor whose cookies cannot tell whether it is their first
click of the day). Whatever a client sends and whatever the database does, the visitor gets a
redirect, never an error page (obmin.partners.ingest).
"""

from __future__ import annotations

import contextlib
import re
from urllib.parse import parse_qsl

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponseRedirect
from django.utils import timezone
from django.views.decorators.http import require_safe

from obmin.lib.geo import country_of
from obmin.lib.ipmask import client_ip, mask_ip
from obmin.lib.timeutil import to_unix
from obmin.lib.visitor import new_user_hash, user_hash_of
from obmin.partners.attribution import referral, set_referral_cookies
from obmin.partners.ingest import ClickData, click_identity, click_submit
from obmin.partners.landing import landing_url
from obmin.partners.models import Click
from obmin.partners.program import ProgramSettings, program_settings
from obmin.partners.selectors import partner_for_code
from obmin.partners.sources import source_of
from obmin.partners.useragent import MAX_PARSED, browser_of, is_crawler

# Only the start of a query string is searched for cur_from / cur_to and the traffic source
# (sub1..sub5, utm_*): it is attacker-sized.
PARSED_QUERY = 2048
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
LIMITS = {field.name: int(field.max_length or 0) for field in Click._meta.concrete_fields
          if field.name in ("referrer", "query_string", "user_agent")}


def _text(value: str, limit: int) -> str:
    """A header or query string as storable text: WSGI hands over raw bytes as latin-1, so
    decode them as the UTF-8 they usually are, drop control characters (PostgreSQL refuses
    NUL) and cut to the column's length."""
    value = value[: limit * 4]
    try:
        value = value.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # already decoded text (tests, other servers)
        value = value.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("", value)[:limit]


def _parsed(query_string: str) -> list[tuple[str, str]]:
    # Raw bytes arrive as latin-1 (WSGI): read them as the UTF-8 they usually are.
    query = query_string[:PARSED_QUERY]
    with contextlib.suppress(UnicodeEncodeError):  # already decoded text (tests, servers)
        query = query.encode("latin-1").decode("utf-8", "replace")
    return parse_qsl(query, keep_blank_values=True)


def _codes(params: list[tuple[str, str]]) -> tuple[str, str]:
    first = dict(reversed(params))
    return first.get("cur_from", ""), first.get("cur_to", "")


@require_safe
def ref(request: HttpRequest, code: str) -> HttpResponseRedirect:
    raw_query = request.META.get("QUERY_STRING", "")
    params = _parsed(raw_query)
    response = HttpResponseRedirect(landing_url(*_codes(params)))
    # Each click must reach us: no browser or proxy may answer it from a cache.
    response["Cache-Control"] = "no-store"
    if request.method == "HEAD":
        return response  # a link checker's probe, not a visit
    try:
        owner = partner_for_code(code)
        program = program_settings()
    except DatabaseError:
        # Neither the cache nor the database can say whose code this is: the click is queued
        # with its code and the writer resolves it later (obmin.partners.ingest); the
        # program's settings are the defaults meanwhile.
        partner_id, program = None, ProgramSettings()
    else:
        if owner is None or owner.is_blocked:
            return response  # an unknown or blocked code records nothing and sets nothing
        partner_id = owner.partner_id

    meta = request.META
    user_agent = _text(meta.get("HTTP_USER_AGENT", ""), MAX_PARSED)
    bot = is_crawler(user_agent)
    uid, now = click_identity(meta, timezone.now())
    user_hash = user_hash_of(request)
    seen_today: bool | None = None
    if bot:
        pass  # robots get no cookies; their clicks are never unique
    elif not user_hash:
        user_hash, seen_today = new_user_hash(), False
    else:
        # The referral cookie names the last partner link followed and when: the same partner
        # today means seen today; the same partner on an earlier day means not (a click today
        # would have renewed the cookie). Another partner's name leaves it to the database.
        last = referral(request, program)
        if last is not None and last.partner_id == partner_id:
            seen_today = last.clicked_at // 86400 == to_unix(now) // 86400
    ip = client_ip(meta, trust_forwarded_for=program.trust_forwarded_for)
    # The country from the whole address, before masking takes the last octet (or 80 bits).
    source = source_of(params)
    country = country_of(ip)
    click_submit(ClickData(
        uid=uid, created_at=now, code=code,
        partner_id=partner_id, user_hash=user_hash, is_bot=bot,
        browser=browser_of(user_agent), ip=mask_ip(ip) if program.mask_ips else ip,
        referrer=_text(meta.get("HTTP_REFERER", ""), LIMITS["referrer"]),
        query_string=_text(raw_query, LIMITS["query_string"]),
        user_agent=user_agent, seen_today=seen_today, country=country, **source))
    if not bot and partner_id is not None:
        if country:
            source["country"] = country
        set_referral_cookies(response, partner_id=partner_id, clicked_at=to_unix(now),
                             user_hash=user_hash, program=program, source=source)
    return response
