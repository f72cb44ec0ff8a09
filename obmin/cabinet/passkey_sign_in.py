"""Signing in with a passkey alone, from the login page: no e-mail, no password. The passkey is
both factors at once (something the partner has, unlocked on the device by a fingerprint, face
or PIN), so the session is signed in and has passed its second factor.

The browser offers the passkeys it keeps for this site (discoverable ones; a security key that
keeps none answers nothing, and its owner signs in with the password and then the key).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from obmin.cabinet.account import BACKEND, _set_language_cookie
from obmin.partners.models import Partner
from obmin.passkeys.services import PasskeyError, passkey_sign_in, passkey_sign_in_options
from obmin.passkeys.views import request_json
from obmin.twofactor.services import second_factor_passed
from obmin.twofactor.views import safe_next

SESSION_STATE = "passkeys_sign_in_state"


@never_cache
@require_POST
def begin(request: HttpRequest) -> JsonResponse:
    try:
        options, state = passkey_sign_in_options()
    except PasskeyError as error:
        return JsonResponse({"error": error.message}, status=400)
    request.session[SESSION_STATE] = state
    return JsonResponse({"options": options})


@never_cache
@require_POST
def complete(request: HttpRequest) -> JsonResponse:
    state = request.session.pop(SESSION_STATE, None)  # used once, whatever happens next
    if is_ratelimited(
        request,
        group="passkey-sign-in:ip",
        key="ip",
        rate=settings.TWOFACTOR_RATE_PER_IP,
        method="POST",
        increment=True,
    ):
        return JsonResponse({"error": _("Too many attempts; try again in an hour.")}, status=429)
    try:
        device = passkey_sign_in(state=state, response=request_json(request).get("credential"))
    except PasskeyError as error:
        return JsonResponse({"error": error.message}, status=400)
    login(request, device.user, backend=BACKEND)
    second_factor_passed(request, device)
    response = JsonResponse({"redirect": safe_next(request)})
    language = (
        Partner.objects.filter(user_id=device.user_id).values_list("language", flat=True).first()
    )
    _set_language_cookie(response, language or "")
    return response
