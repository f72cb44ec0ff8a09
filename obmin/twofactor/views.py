"""Two-factor pages: the sign-in's second step, the re-check before a sensitive action, and the
set-up (authenticator app, recovery codes, turning it off). The same pages serve partners
(inside the cabinet's frame) and staff.

The second step and the re-check list every way to pass them (TWOFACTOR_METHOD_TEMPLATES, one
include each); whichever is used ends in `services.second_factor_passed`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_ratelimit.core import is_ratelimited

from obmin.lib.errors import add_refusal
from obmin.partners.models import Partner
from obmin.twofactor.decorators import fresh_second_factor_required
from obmin.twofactor.forms import AppCodeForm, CodeForm
from obmin.twofactor.policy import twofactor_required
from obmin.twofactor.services import (
    SESSION_PENDING_POST,
    TwoFactorError,
    has_confirmed_device,
    primary_devices,
    recovery_codes_left,
    recovery_codes_regenerate,
    second_factor_check,
    second_factor_passed,
    totp_begin,
    totp_confirm,
    totp_device_pending,
    totp_secret,
    twofactor_disable,
    twofactor_enabled,
)

SESSION_SETUP_DEVICE = "twofactor_setup_device"
SESSION_NEW_CODES = "twofactor_new_codes"


def _is_partner(request: HttpRequest) -> bool:
    return Partner.objects.filter(user_id=request.user.pk or 0).exists()


def _frame(request: HttpRequest) -> str:
    """Partners see these pages inside the cabinet; staff in the plain site frame."""
    return "cabinet/base_cabinet.html" if _is_partner(request) else "twofactor/base_plain.html"


def given_next(request: HttpRequest) -> str:
    """`next` of the request when it is a page of this site, else ""."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def safe_next(request: HttpRequest) -> str:
    """The page to go on to: `next` when it is on this site, else the user's home."""
    return given_next(request) or home_url(request)


def home_url(request: HttpRequest) -> str:
    """The cabinet for a partner, the admin for staff who are not partners."""
    user: Any = request.user
    if user.is_staff and not _is_partner(request):
        return reverse("admin:index")
    return reverse("cabinet:dashboard")


def attempt_limited(request: HttpRequest) -> bool:
    """Counts this second-factor attempt per user and per client address (django-ratelimit);
    every method (codes, passkeys) counts in the same groups."""
    by_user = is_ratelimited(
        request,
        group="twofactor:user",
        key="user",
        rate=settings.TWOFACTOR_RATE_PER_USER,
        method="POST",
        increment=True,
    )
    by_ip = is_ratelimited(
        request,
        group="twofactor:ip",
        key="ip",
        rate=settings.TWOFACTOR_RATE_PER_IP,
        method="POST",
        increment=True,
    )
    return bool(by_user or by_ip)


def _methods_page(
    request: HttpRequest, template: str, form: CodeForm, status: int = 200
) -> HttpResponse:
    response = render(
        request,
        template,
        {
            "form": form,
            "next": safe_next(request),
            "cancel_url": home_url(request),
            "method_templates": settings.TWOFACTOR_METHOD_TEMPLATES,
            "fresh_minutes": settings.TWOFACTOR_FRESH_MINUTES,
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


def _check(request: HttpRequest, template: str) -> HttpResponse | None:
    """A POSTed code: None when it passed (the session is verified and fresh), else the page
    again with the error."""
    form = CodeForm(request.POST)
    if attempt_limited(request):
        form.is_valid()
        form.add_error(None, _("Too many attempts; try again in an hour."))
        return _methods_page(request, template, form, status=429)
    if form.is_valid():
        try:
            device = second_factor_check(request=request, code=form.cleaned_data["code"])
        except TwoFactorError as error:
            add_refusal(form, error)
        else:
            second_factor_passed(request, device)
            return None
    if getattr(request, "axes_locked_out", False):
        # django-axes counted enough wrong codes: the account's sign-in from this address is
        # locked, so this half-signed session ends too.
        logout(request)
        messages.error(request, str(settings.AXES_COOLOFF_MESSAGE))
        return redirect("cabinet:login")
    return _methods_page(request, template, form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The sign-in's second step, after the password, for a user with a second factor."""
    user: Any = request.user
    if not has_confirmed_device(user) or user.is_verified():
        return redirect(safe_next(request))
    if request.method == "POST":
        refused = _check(request, "twofactor/verify.html")
        if refused is not None:
            return refused
        return redirect(safe_next(request))
    return _methods_page(request, "twofactor/verify.html", CodeForm())


@login_required
@require_http_methods(["GET", "POST"])
def reverify(request: HttpRequest) -> HttpResponse:
    """The re-check before a sensitive action; then back to it (a kept form is offered to be
    sent again)."""
    if request.method == "POST":
        refused = _check(request, "twofactor/reverify.html")
        if refused is not None:
            return refused
        target = safe_next(request)
        pending = request.session.pop(SESSION_PENDING_POST, None)
        if pending and target.split("?")[0] == pending.get("path"):
            return render(
                request,
                "twofactor/resubmit.html",
                {"action": pending["path"], "fields": pending["fields"]},
            )
        return redirect(target)
    return _methods_page(request, "twofactor/reverify.html", CodeForm())


# --- set-up ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@fresh_second_factor_required()  # adding an app beside a passkey: not by a stolen session
def setup(request: HttpRequest) -> HttpResponse:
    """Two-factor sign-in: its state and what can be done; POST starts an app's set-up."""
    user: Any = request.user
    if request.method == "POST":
        try:
            device = totp_begin(user=user)
        except TwoFactorError as error:
            messages.error(request, error.message)
            return redirect("twofactor:setup")
        request.session[SESSION_SETUP_DEVICE] = device.pk
        return redirect(reverse("twofactor:setup_confirm") + _next_query(request))
    return render(
        request,
        "twofactor/setup.html",
        {
            "base_template": _frame(request),
            "enabled": twofactor_enabled(user),
            "devices": primary_devices(user),
            "codes_left": recovery_codes_left(user),
            "has_app": TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists(),
            "setup_templates": settings.TWOFACTOR_SETUP_TEMPLATES,
            "required": twofactor_required(user),
            "next": given_next(request),
        },
    )


def _next_query(request: HttpRequest) -> str:
    target = given_next(request)
    return f"?{urlencode({'next': target})}" if target else ""


@login_required
@require_http_methods(["GET", "POST"])
def setup_confirm(request: HttpRequest) -> HttpResponse:
    """The new app's QR code and key; a code from the app turns two-factor on."""
    device = totp_device_pending(
        user=request.user, device_id=request.session.get(SESSION_SETUP_DEVICE) or 0
    )
    if device is None:
        return redirect("twofactor:setup")
    form = AppCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if attempt_limited(request):
            form.add_error(None, _("Too many attempts; try again in an hour."))
        else:
            try:
                codes = totp_confirm(
                    request=request, device_id=device.pk, code=form.cleaned_data["code"]
                )
            except TwoFactorError as error:
                add_refusal(form, error)
            else:
                request.session.pop(SESSION_SETUP_DEVICE, None)
                request.session[SESSION_NEW_CODES] = codes
                messages.success(request, _("Two-factor sign-in is on."))
                return redirect(reverse("twofactor:recovery_shown") + _next_query(request))
    response = render(
        request,
        "twofactor/setup_confirm.html",
        {
            "base_template": _frame(request),
            "form": form,
            # segno's SVG holds the code as path geometry only: no text of ours reaches it.
            "qr": mark_safe(segno.make(device.config_url, error="m").svg_inline(scale=4)),  # noqa: S308
            "secret": totp_secret(device),
            "next": given_next(request),
        },
        status=400 if form.errors else 200,
    )
    response["Cache-Control"] = "no-store"  # the page holds the secret
    return response


@login_required
def recovery_shown(request: HttpRequest) -> HttpResponse:
    """The new recovery codes, on this one answer and never again."""
    codes = request.session.pop(SESSION_NEW_CODES, None)
    if not codes:
        return redirect("twofactor:setup")
    response = render(
        request,
        "twofactor/recovery_codes.html",
        {
            "base_template": _frame(request),
            "codes": codes,
            "next": given_next(request),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
@fresh_second_factor_required()
def recovery_regenerate(request: HttpRequest) -> HttpResponse:
    try:
        codes = recovery_codes_regenerate(user=request.user)
    except TwoFactorError as error:
        messages.error(request, error.message)
        return redirect("twofactor:setup")
    request.session[SESSION_NEW_CODES] = codes
    return redirect("twofactor:recovery_shown")


@require_POST
@login_required
@fresh_second_factor_required()
def disable(request: HttpRequest) -> HttpResponse:
    if not twofactor_enabled(request.user):
        messages.info(request, _("Two-factor sign-in is off."))
        return redirect("twofactor:setup")
    if twofactor_required(request.user):
        messages.error(
            request,
            _(
                "The exchanger requires two-factor sign-in for your account; "
                "it cannot be turned off."
            ),
        )
        return redirect("twofactor:setup")
    twofactor_disable(user=request.user)
    messages.success(request, _("Two-factor sign-in is off; we have e-mailed you about it."))
    return redirect("twofactor:setup")
