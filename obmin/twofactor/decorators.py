"""`fresh_second_factor_required`: a sensitive action (a payout wallet, an API key, the e-mail,
the password, two-factor itself) asks for a second factor again unless the session passed one
within TWOFACTOR_FRESH_MINUTES.

Users without a second factor keep their old way (the policy's middleware makes those who must
have one set it up first). A POST that arrives stale is kept in the session (its fields, never
a password) and offered again after the code, so the partner's typing is not lost.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from obmin.twofactor.middleware import redirect_with_next
from obmin.twofactor.services import (
    SESSION_PENDING_POST,
    has_confirmed_device,
    second_factor_fresh,
)

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponseBase)

# Form fields never kept in the session: the CSRF token (the re-sent form gets a new one) and
# anything named like a password.
NOT_KEPT = ("csrfmiddlewaretoken",)


def _kept_fields(request: HttpRequest) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, values in request.POST.lists()
        for value in values
        if name not in NOT_KEPT and "password" not in name
    ][:50]


def fresh_second_factor_required(
    *,
    on_get: bool = False,
    keep_post: bool = True,
) -> Callable[[Callable[P, R]], Callable[P, R | HttpResponse]]:
    """`on_get`: the page itself asks (a form of secrets, such as the password change);
    otherwise only its POST does. `keep_post`: a stale POST is offered to be sent again after
    the code (its fields but passwords); off, the code leads back to the page (GET), for a
    form of passwords."""

    def decorate(view: Callable[P, R]) -> Callable[P, R | HttpResponse]:
        @wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | HttpResponse:
            request = args[0]
            assert isinstance(request, HttpRequest)
            asks = request.method == "POST" or on_get
            user: Any = request.user
            if (
                asks
                and user.is_authenticated
                and has_confirmed_device(user)
                and not second_factor_fresh(request)
            ):
                if request.method == "POST" and keep_post:
                    request.session[SESSION_PENDING_POST] = {
                        "path": request.path,
                        "fields": _kept_fields(request),
                    }
                return redirect_with_next("twofactor:reverify", request)
            return view(*args, **kwargs)

        return wrapper

    return decorate
