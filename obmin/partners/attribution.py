"""Which partner a customer's exchange belongs to, and the visitor's stable hash.

The rule (README, "Referral links and attribution"): the last partner link the visitor
followed wins, unless the customer's e-mail is already bound to a partner by an earlier
attributed exchange, which then wins. A partner's own exchanges are never attributed to it,
and a blocked partner is attributed nothing. Cookie names are shared with the /ref/ redirect
that sets them.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from obmin.partners.program import ProgramSettings, program_settings

REF_COOKIE = "obmin_ref"
VISITOR_COOKIE = "obmin_vid"

_VISITOR = re.compile(r"[A-Za-z0-9_-]{8,32}")
_REF = re.compile(r"([0-9]{1,18})\.([0-9]{1,12})")


@dataclass(frozen=True)
class Referral:
    """What the referral cookie says: whose link the visitor followed last, and when."""

    partner_id: int
    clicked_at: int  # unix seconds


def new_visitor_hash() -> str:
    return secrets.token_hex(8)


def visitor_hash(request: HttpRequest) -> str:
    """The visitor's id from its first-party cookie, or "" (a cookie we did not write)."""
    value = request.COOKIES.get(VISITOR_COOKIE) or ""
    return value if _VISITOR.fullmatch(value) else ""


def referral(request: HttpRequest, program: ProgramSettings | None = None) -> Referral | None:
    """The referral cookie, if it is well-formed and younger than the operator's lifetime.

    The lifetime is checked here too, not only by the browser, so that shortening it in the
    settings applies to cookies already given out.
    """
    match = _REF.fullmatch(request.COOKIES.get(REF_COOKIE) or "")
    if match is None:
        return None
    found = Referral(partner_id=int(match[1]), clicked_at=int(match[2]))
    program = program or program_settings()
    if time.time() - found.clicked_at > program.cookie_seconds:
        return None
    return found


def set_referral_cookies(response: HttpResponse, *, partner_id: int, clicked_at: int,
                         user_hash: str, program: ProgramSettings) -> None:
    """Both cookies of a followed link; first-party, so `SameSite=Lax` keeps them on the
    visitor's own navigation to the exchange page.

    Written as morsels rather than with `set_cookie`, which adds an `Expires` date computed on
    every click; `Max-Age` alone is what browsers use.
    """
    for name, value in ((REF_COOKIE, f"{partner_id}.{clicked_at}"), (VISITOR_COOKIE, user_hash)):
        response.cookies[name] = value
        morsel = response.cookies[name]
        morsel["max-age"] = program.cookie_seconds
        morsel["path"] = "/"
        morsel["httponly"] = True
        morsel["samesite"] = "Lax"
        if settings.SESSION_COOKIE_SECURE:
            morsel["secure"] = True


def partner_id_for_exchange(request: HttpRequest, email: str) -> int | None:
    """The referring partner of an exchange about to be created, or None."""
    from obmin.exchange.models import Exchange
    from obmin.partners.models import Partner

    email = email.strip().lower()  # as exchange_create stores it
    user = getattr(request, "user", None)
    logged_in_user_id = user.pk if user is not None and user.is_authenticated else None

    def allowed(partner_id: int | None) -> int | None:
        if partner_id is None:
            return None
        row = (Partner.objects.filter(pk=partner_id)
               .values_list("is_blocked", "user_id", "user__email").first())
        if row is None:
            return None
        is_blocked, user_id, partner_email = row
        if is_blocked or user_id == logged_in_user_id:
            return None
        if partner_email and partner_email.strip().lower() == email:
            return None  # the partner exchanging for itself
        return partner_id

    # The first attributed exchange binds the customer to its partner for good.
    if email:
        bound = (Exchange.objects.filter(email=email, partner__isnull=False)
                 .order_by("created_at", "id").values_list("partner_id", flat=True).first())
        if bound is not None:
            return allowed(bound)
    found = referral(request)
    return allowed(found.partner_id if found else None)
