"""Who is acting in the current request, so a service deep below the view can name its actor.

`AuditContextMiddleware` keeps the request in a context variable for the request's life;
`current_actor()` and `current_address()` read it when an entry is written (the worker and
commands have none: their actor is `system`). The address is `lib.ipmask.client_address_of`,
the one client address every limit, lockout and log line uses.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

from obmin.lib.ipmask import client_address_of

SYSTEM_ACTOR = "system"

_request: ContextVar[HttpRequest | None] = ContextVar("obmin_audit_request", default=None)

def actor_of(user: Any) -> str:
    """`staff:<username>` for the operator's people, `partner:<username>` for the rest."""
    if user is None or not getattr(user, "is_authenticated", False):
        return "anonymous"
    return f"{'staff' if user.is_staff else 'partner'}:{user.get_username()}"


def current_actor() -> str:
    request = _request.get()
    return SYSTEM_ACTOR if request is None else actor_of(getattr(request, "user", None))


def current_address() -> str:
    request = _request.get()
    if request is None:
        return ""
    return client_address_of(request)


class AuditContextMiddleware:
    """Keeps the request at hand for the audit trail (after the authentication middleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
