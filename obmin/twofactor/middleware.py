"""Closes the cabinet, the admin and the staff pages (TWOFACTOR_PROTECTED_PATHS) to a session
that signed in with its password but owes the second factor (sent to the second step), and to
a user the operator's policy requires to have one but who has none (sent to the set-up page).

One place for every door, so no page of those rooms can forget it; the partner API (its keys
are their own credential) and the public pages are not behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse

from obmin.twofactor.policy import twofactor_required
from obmin.twofactor.services import has_confirmed_device

# Pages a session in either state may still open: signing out, and the pages of a visitor
# who is not signed in (a reset link opened in a browser with a half-signed session).
OPEN_ALWAYS = {
    "cabinet:logout",
    "admin:logout",
    "cabinet:login",
    "admin:login",
    "cabinet:signup",
    "cabinet:signup_sent",
    "cabinet:signup_confirm",
    "cabinet:password_reset",
    "cabinet:password_reset_done",
    "cabinet:password_reset_confirm",
    "cabinet:password_reset_complete",
}
# The second step itself (and what another method of it needs: passkeys add theirs).
OPEN_TO_SECOND_STEP = {"twofactor:verify"}
# Setting up a first factor.
OPEN_TO_SET_UP = {"twofactor:setup", "twofactor:setup_confirm", "twofactor:recovery_shown"}


def _url_name(request: HttpRequest) -> str:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return ""
    return match.view_name


def redirect_with_next(name: str, request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")


class TwoFactorMiddleware:
    """After django-otp's OTPMiddleware (which says whether the session is verified)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user: Any = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and request.path_info.startswith(tuple(settings.TWOFACTOR_PROTECTED_PATHS))
            and not user.is_verified()
        ):
            blocked = self._blocked(request, user)
            if blocked is not None:
                return blocked
        return self.get_response(request)

    @staticmethod
    def _blocked(request: HttpRequest, user: Any) -> HttpResponse | None:
        name = _url_name(request)
        if name in OPEN_ALWAYS:
            return None
        if has_confirmed_device(user):
            return (
                None
                if name in OPEN_TO_SECOND_STEP | set(settings.TWOFACTOR_SECOND_STEP_URLS)
                else redirect_with_next("twofactor:verify", request)
            )
        if twofactor_required(user):
            return (
                None
                if name in OPEN_TO_SET_UP | set(settings.TWOFACTOR_SET_UP_URLS)
                else redirect_with_next("twofactor:setup", request)
            )
        return None
