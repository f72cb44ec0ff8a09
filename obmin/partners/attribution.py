"""Which partner a customer's exchange belongs to, and the referral cookie that says so.

The rule (README, "Referral links and attribution"): the last partner link the visitor
followed wins, unless the customer's e-mail is already bound to a partner by an earlier
attributed exchange that reached success, which then wins (an unpaid, new or cancelled one
binds nothing: anyone can submit an exchange with anyone's e-mail). Who may earn at all is
`partner_may_earn`'s rule, shared with reward accrual. The exchange room asks
`partner_for_exchange` through its referrer hook (`obmin.exchange.hooks`, registered in
`PartnersConfig.ready`), which answers the partner and the source of its click.

The referral cookie (`obmin_ref`: partner id and click time) and its companion (`obmin_src`:
the click's sub-IDs, UTM tags and country) are signed with the site's SECRET_KEY (Django's
cookie signer); a cookie whose signature does not match is no cookie at all, so a visitor
cannot choose a partner, a click time that never expires, or a source.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

from obmin.exchange.hooks import Referrer
from obmin.exchange.models import Exchange, ExchangeStatus
from obmin.lib.text import normalize_email
from obmin.lib.visitor import USER_HASH_COOKIE
from obmin.partners.program import ProgramSettings, program_settings
from obmin.partners.selectors import partner_may_earn
from obmin.partners.sources import SOURCE_COOKIE, source_cookie_value, source_from_cookie

REF_COOKIE = "obmin_ref"

_REF = re.compile(r"([0-9]{1,18})\.([0-9]{1,12})")


@dataclass(frozen=True)
class Referral:
    """What the referral cookie says: whose link the visitor followed last, and when."""

    partner_id: int
    clicked_at: int  # unix seconds


def _signer(name: str) -> signing.Signer:
    return _signer_for(name, settings.SECRET_KEY)


@lru_cache(maxsize=8)
def _signer_for(name: str, secret_key: str) -> signing.Signer:
    # Django's cookie signer (as set_signed_cookie uses), salted per cookie name, made once
    # per key (on every click otherwise). Plain, not timestamped: the click's own time is in
    # the value, and the lifetime is checked on it.
    return signing.Signer(key=secret_key, salt=f"django.http.cookies{name}",
                          algorithm="sha256")


def signed_cookie_value(name: str, value: str) -> str:
    """`value:signature` for the cookie `name` (the referral and source cookies)."""
    return _signer(name).sign(value)


def cookie_unsigned(request: HttpRequest, name: str) -> str:
    """The cookie's value when its signature is ours, else "" (forged, altered, unsigned)."""
    raw = request.COOKIES.get(name) or ""
    if not raw:
        return ""
    try:
        return _signer(name).unsign(raw)
    except signing.BadSignature:
        return ""


def referral(request: HttpRequest, program: ProgramSettings | None = None) -> Referral | None:
    """The referral cookie, if it is ours (signed), well-formed and younger than the
    operator's lifetime.

    The lifetime is checked here too, not only by the browser, so that shortening it in the
    settings applies to cookies already given out.
    """
    match = _REF.fullmatch(cookie_unsigned(request, REF_COOKIE))
    if match is None:
        return None
    found = Referral(partner_id=int(match[1]), clicked_at=int(match[2]))
    program = program or program_settings()
    if time.time() - found.clicked_at > program.cookie_seconds:
        return None
    return found


def set_referral_cookies(response: HttpResponse, *, partner_id: int, clicked_at: int,
                         user_hash: str, program: ProgramSettings,
                         source: dict[str, str] | None = None) -> None:
    """The cookies of a followed link; first-party, so `SameSite=Lax` keeps them on the
    visitor's own navigation to the exchange page. `source` (the click's sub-IDs, UTM tags and
    country) goes into the companion cookie `obmin_src`, tied to this click's referral cookie;
    a click without any leaves an older companion cookie stale, so it no longer counts.

    Written as morsels rather than with `set_cookie`, which adds an `Expires` date computed on
    every click; `Max-Age` alone is what browsers use.
    """
    cookies = [(REF_COOKIE, signed_cookie_value(REF_COOKIE, f"{partner_id}.{clicked_at}")),
               (USER_HASH_COOKIE, user_hash)]
    if source:
        cookies.append((SOURCE_COOKIE, signed_cookie_value(SOURCE_COOKIE, source_cookie_value(
            partner_id=partner_id, clicked_at=clicked_at, fields=source))))
    for name, value in cookies:
        response.cookies[name] = value
        morsel = response.cookies[name]
        morsel["max-age"] = program.cookie_seconds
        morsel["path"] = "/"
        morsel["httponly"] = True
        morsel["samesite"] = "Lax"
        if settings.SESSION_COOKIE_SECURE:
            morsel["secure"] = True


def bound_partner(email: str) -> int | None:
    """The partner a customer's e-mail is bound to: the one of its first exchange that reached
    success with a partner. Only success binds: an exchange anyone may submit with anyone's
    e-mail and never pay must not claim the customer (issue 20's hijack)."""
    if not email:
        return None
    return (Exchange.objects.filter(email=email, partner__isnull=False,
                                    status=ExchangeStatus.SUCCESS)
            .order_by("created_at", "id").values_list("partner_id", flat=True).first())


def partner_for_bid(*, named_partner_id: int | None, email: str) -> int | None:
    """The partner of an exchange made through the API, by the web's rule without a cookie: a
    customer bound by an earlier successful exchange stays its partner's; otherwise the
    partner the caller named. None when that partner may not earn on it."""
    email = normalize_email(email)
    partner_id = bound_partner(email)
    if partner_id is None:
        partner_id = named_partner_id
    if partner_id is None or not partner_may_earn(partner_id=partner_id, customer_email=email):
        return None
    return partner_id


def partner_for_exchange(request: HttpRequest, email: str) -> Referrer | None:
    """The referring partner of an exchange about to be created, with the source of the click
    that brought it (when that click was the referring partner's), or None."""
    email = normalize_email(email)  # as exchange_create stores it
    user = getattr(request, "user", None)
    logged_in_user_id = user.pk if user is not None and user.is_authenticated else None
    found = referral(request)
    # The first successful attributed exchange binds the customer to its partner for good.
    partner_id = bound_partner(email)
    if partner_id is None and found is not None:
        partner_id = found.partner_id
    if partner_id is None or not partner_may_earn(partner_id=partner_id, customer_email=email,
                                                  logged_in_user_id=logged_in_user_id):
        return None
    source: dict[str, str] = {}
    if found is not None and found.partner_id == partner_id:
        source = source_from_cookie(cookie_unsigned(request, SOURCE_COOKIE),
                                    partner_id=found.partner_id, clicked_at=found.clicked_at)
    return Referrer(partner_id=partner_id, **source)


def forwarded_for_trusted() -> bool:
    """The operator's "trust X-Forwarded-For" switch (`lib.ipmask.client_address` asks)."""
    return program_settings().trust_forwarded_for
