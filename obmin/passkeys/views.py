"""Passkey pages and the JSON endpoints `passkeys.js` calls: adding a passkey (on the two-factor
page, partners' and staff's alike), removing one, and using one at the sign-in's second step or
the re-check before a sensitive action.

Each ceremony is begin (the options; the state kept in the session, used once) and complete
(the browser's answer). Using a passkey ends in twofactor's `second_factor_passed`, as a code
does; removing one and adding another once a second factor exists ask for a fresh one first.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from obmin.audit.context import actor_of
from obmin.audit.models import AuditAction
from obmin.audit.services import audit_record
from obmin.lib.site import public_url
from obmin.passkeys.services import (
    PasskeyError,
    passkey_add,
    passkey_authentication_options,
    passkey_registration_options,
    passkey_remove,
    passkey_verify,
)
from obmin.twofactor.decorators import fresh_second_factor_required
from obmin.twofactor.services import (
    SESSION_PENDING_POST,
    has_confirmed_device,
    second_factor_fresh,
    second_factor_passed,
    twofactor_enabled,
)
from obmin.twofactor.views import SESSION_NEW_CODES, attempt_limited, safe_next

SESSION_REGISTER = "passkeys_register_state"
SESSION_AUTHENTICATE = "passkeys_authenticate_state"


def _user(request: HttpRequest) -> AbstractBaseUser:
    """The signed-in user (every view here is behind login_required)."""
    user = request.user
    assert isinstance(user, AbstractBaseUser)
    return user


def request_json(request: HttpRequest) -> dict[str, Any]:
    """The JSON object passkeys.js posts; anything else is an empty one (refused further on)."""
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _refused(message: str, status: int = 400, **extra: str) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _with_next(name: str, target: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': target})}" if target else reverse(name)


def _manage_url() -> str:
    return public_url(reverse("twofactor:setup"))


# --- adding and removing ----------------------------------------------------------------------


def _stale_refusal(request: HttpRequest) -> JsonResponse | None:
    """Adding a passkey to an account that has a second factor asks for a fresh one first (a
    stolen session must not add its own): the refusal sending there, or None."""
    if has_confirmed_device(request.user) and not second_factor_fresh(request):
        return _refused(_("Confirm it is you first."), 403,
                        redirect=_with_next("twofactor:reverify", reverse("twofactor:setup")))
    return None


@never_cache
@require_POST
@login_required
def add_begin(request: HttpRequest) -> JsonResponse:
    if (stale := _stale_refusal(request)) is not None:
        return stale
    try:
        options, state = passkey_registration_options(user=_user(request))
    except PasskeyError as error:
        return _refused(error.message)
    request.session[SESSION_REGISTER] = state
    return JsonResponse({"options": options})


@never_cache
@require_POST
@login_required
def add_complete(request: HttpRequest) -> JsonResponse:
    state = request.session.pop(SESSION_REGISTER, None)  # used once, whatever happens next
    if (stale := _stale_refusal(request)) is not None:
        return stale
    data = request_json(request)
    try:
        added = passkey_add(
            user=_user(request),
            state=state,
            response=data.get("credential"),
            name=str(data.get("name") or ""),
            manage_url=_manage_url(),
        )
    except PasskeyError as error:
        return _refused(error.message)
    messages.success(request, _("The passkey “%(name)s” is added.") % {"name": added.passkey.name})
    if not request.user.is_verified():  # type: ignore[union-attr]
        # The account's first second factor: this session made it, so it has passed it.
        second_factor_passed(request, added.passkey)
    if added.recovery_codes:
        request.session[SESSION_NEW_CODES] = added.recovery_codes
        return JsonResponse({"redirect": reverse("twofactor:recovery_shown")})
    return JsonResponse({"redirect": reverse("twofactor:setup")})


@require_POST
@login_required
@fresh_second_factor_required(keep_post=True)
def remove(request: HttpRequest, passkey_id: int) -> HttpResponse:
    try:
        device = passkey_remove(user=_user(request), passkey_id=passkey_id)
    except PasskeyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The passkey “%(name)s” is removed.") % {"name": device.name})
        if not twofactor_enabled(request.user):
            messages.warning(
                request,
                _(
                    "It was your last second factor: two-factor sign-in is "
                    "off now, and your recovery codes are void."
                ),
            )
    return redirect("twofactor:setup")


# --- using one: the second step and the re-check ------------------------------------------------


@never_cache
@require_POST
@login_required
def use_begin(request: HttpRequest) -> JsonResponse:
    try:
        options, state = passkey_authentication_options(user=_user(request))
    except PasskeyError as error:
        return _refused(error.message)
    request.session[SESSION_AUTHENTICATE] = state
    return JsonResponse({"options": options})


@never_cache
@require_POST
@login_required
def use_complete(request: HttpRequest) -> JsonResponse:
    state = request.session.pop(SESSION_AUTHENTICATE, None)  # used once, whatever happens next
    if attempt_limited(request):
        return _refused(_("Too many attempts; try again in an hour."), 429)
    data = request_json(request)
    user: Any = request.user
    try:
        device = passkey_verify(user=user, state=state, response=data.get("credential"))
    except PasskeyError as error:
        audit_record(
            action=AuditAction.TWOFACTOR_FAILED,
            obj=user,
            actor=actor_of(user),
            object_repr=user.get_username(),
            after={"kind": "passkey"},
        )
        return _refused(error.message)
    second_factor_passed(request, device)
    target = safe_next(request)
    pending = request.session.get(SESSION_PENDING_POST)
    if data.get("step") == "reverify" and pending and target.split("?")[0] == pending.get("path"):
        # The action's form waits to be sent again (as after a code on the re-check page).
        return JsonResponse({"redirect": _with_next("passkeys:resubmit", target)})
    return JsonResponse({"redirect": target})


@require_GET
@login_required
def resubmit(request: HttpRequest) -> HttpResponse:
    """After a passkey on the re-check page: the kept form of the action, to send again."""
    target = safe_next(request)
    pending = request.session.get(SESSION_PENDING_POST)
    if (
        not second_factor_fresh(request)
        or not pending
        or target.split("?")[0] != pending.get("path")
    ):
        return redirect(target)
    del request.session[SESSION_PENDING_POST]
    return render(
        request, "twofactor/resubmit.html", {"action": pending["path"], "fields": pending["fields"]}
    )
