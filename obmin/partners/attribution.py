"""Which partner a customer's exchange belongs to, and the visitor's stable hash.

Cookie names are shared with the /ref/ redirect that sets them.
"""

from __future__ import annotations

from django.http import HttpRequest

REF_COOKIE = "obmin_ref"
VISITOR_COOKIE = "obmin_vid"


def visitor_hash(request: HttpRequest) -> str:
    return (request.COOKIES.get(VISITOR_COOKIE) or "")[:32]


def partner_id_for_exchange(request: HttpRequest, email: str) -> int | None:
    """The referring partner of an exchange about to be created, or None."""
    return None  # filled in by the referral room
