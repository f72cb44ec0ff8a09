"""The partner's account: sign-up by proof of the e-mail, login, password reset and change,
e-mail change, profile (time zone, language) and the vanity referral code.

Whether an e-mail has an account is never told in an answer: sign-up and password reset answer
the same, and the inbox learns the rest. Their rate limits are counted before the form is read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from obmin.cabinet.decorators import PartnerRequest, partner_required
from obmin.cabinet.forms import (
    CodeChoiceForm,
    EmailChangeForm,
    EmailLoginForm,
    NewPasswordForm,
    PasswordResetRequestForm,
    ProfileForm,
    SignupForm,
)
from obmin.lib.errors import add_refusal
from obmin.lib.mail import email_on_commit
from obmin.lib.site import public_url
from obmin.lib.text import normalize_email
from obmin.partners.attribution import referral
from obmin.partners.models import Partner
from obmin.partners.selectors import partner_old_codes
from obmin.partners.services import (
    PartnerError,
    email_change_token_make,
    email_change_token_new_email,
    email_has_account,
    partner_code_choose,
    partner_email_change,
    partner_profile_update,
    partner_signup_confirm,
    signup_token_make,
    signup_token_read,
)
from obmin.twofactor.decorators import fresh_second_factor_required
from obmin.twofactor.services import (
    has_confirmed_device,
    recovery_codes_left,
    twofactor_enabled,
)

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _email_key(group: str, request: HttpRequest) -> str:
    return normalize_email(request.POST.get("email"))[:254]


def account_limited(request: HttpRequest, group: str) -> bool:
    """Counts this POST against the per-address and per-e-mail limits; True when over either.

    Called before any form is built: a refused request learns nothing about the e-mail.
    """
    by_ip = is_ratelimited(request, group=f"{group}:ip", key="ip",
                           rate=settings.ACCOUNT_RATE_PER_IP, method="POST", increment=True)
    by_email = is_ratelimited(request, group=f"{group}:email", key=_email_key,
                              rate=settings.ACCOUNT_RATE_PER_EMAIL, method="POST",
                              increment=True)
    return bool(by_ip or by_email)


def _limited_answer(request: HttpRequest, template: str, form: Any) -> HttpResponse:
    return render(request, template, {
        "form": form,
        "limited": _("Too many requests from your address or for this e-mail; try again in "
                     "an hour."),
    }, status=429)


def _mail(*, to: str, template: str, context: dict[str, Any], language: str = "") -> None:
    """An account e-mail (subject on the template's first line) in `language` or the page's."""
    with translation.override(language or translation.get_language()):
        text = render_to_string(template, context)
    subject, _blank, body = text.strip().partition("\n")
    email_on_commit(subject=subject.strip(), body=body.strip() + "\n", to=[to])


def _set_language_cookie(response: HttpResponseBase, language: str) -> None:
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH, secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY, samesite="Lax")


# --- sign-up by proof ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Asks for the e-mail only; the same answer whether or not it has an account."""
    if request.user.is_authenticated:
        return redirect("cabinet:dashboard")
    if request.method == "POST":
        if account_limited(request, "signup"):
            return _limited_answer(request, "cabinet/signup.html", SignupForm())
        form = SignupForm(request.POST)
        if form.is_valid():
            email = form.cleaned_data["email"]
            if email_has_account(email):
                _mail(to=email, template="cabinet/email/signup_known.txt", context={
                    "login_url": public_url(reverse("cabinet:login")),
                    "reset_url": public_url(reverse("cabinet:password_reset")),
                })
            else:
                found = referral(request)
                token = signup_token_make(email=email,
                                          referred_by_id=found.partner_id if found else None)
                _mail(to=email, template="cabinet/email/signup_confirm.txt", context={
                    "confirm_url": public_url(
                        reverse("cabinet:signup_confirm", args=[token])),
                })
            return redirect("cabinet:signup_sent")
    else:
        form = SignupForm()
    return render(request, "cabinet/signup.html", {"form": form},
                  status=400 if form.errors else 200)


def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "cabinet/signup_sent.html")


@require_http_methods(["GET", "POST"])
def signup_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The page the sign-up link opens: the new partner chooses a password, and the account
    exists from that moment."""
    try:
        claim = signup_token_read(token=token)
    except PartnerError as error:
        return render(request, "cabinet/signup_confirm.html", {"link_error": error.message},
                      status=400)
    if email_has_account(claim.email):
        return render(request, "cabinet/signup_confirm.html", {"done": True})
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            partner = partner_signup_confirm(token=token,
                                             password=form.cleaned_data["password1"])
        except PartnerError as error:
            add_refusal(form, error, fields={"password": "password1"})
        else:
            if request.user.is_authenticated:
                logout(request)
            login(request, partner.user, backend=BACKEND)
            return redirect("cabinet:dashboard")
    return render(request, "cabinet/signup_confirm.html", {"form": form, "email": claim.email},
                  status=400 if form.errors else 200)


# --- login and passwords ------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """E-mail and password; the partner's chosen language applies from here on. A user with a
    second factor goes on to the second step (obmin.twofactor), `next` kept."""

    template_name = "cabinet/login.html"
    authentication_form = EmailLoginForm
    redirect_authenticated_user = True

    def get_success_url(self) -> str:
        target = super().get_success_url()
        if has_confirmed_device(self.request.user):
            return f"{reverse('twofactor:verify')}?{urlencode({'next': target})}"
        return target

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        language = (Partner.objects.filter(user_id=form.get_user().pk)
                    .values_list("language", flat=True).first())
        _set_language_cookie(response, language or "")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset by e-mail (its tokens); an address without an account is told so in its
    inbox, and the page answers the same either way."""

    template_name = "cabinet/password_reset.html"
    form_class = PasswordResetRequestForm
    email_template_name = "cabinet/email/password_reset.txt"
    subject_template_name = "cabinet/email/password_reset_subject.txt"
    success_url = reverse_lazy("cabinet:password_reset_done")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if account_limited(request, "reset"):
            return _limited_answer(request, self.template_name, self.form_class())
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        email = form.cleaned_data["email"]
        if not email_has_account(email):
            _mail(to=normalize_email(email), template="cabinet/email/reset_unknown.txt",
                  context={"signup_url": public_url(
                      reverse("cabinet:signup"))})
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "cabinet/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Setting the new password logs out every session of the account (Django checks each
    session's password hash on every request)."""

    template_name = "cabinet/password_reset_confirm.html"
    success_url = reverse_lazy("cabinet:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "cabinet/password_reset_complete.html"


@partner_required
@require_http_methods(["GET", "POST"])
@fresh_second_factor_required(on_get=True, keep_post=False)
def password_change(request: PartnerRequest) -> HttpResponse:
    """A new password ends every session of the account, this one too: log in again."""
    form = PasswordChangeForm(request.partner.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        logout(request)
        messages.success(request, _("Your password is changed and every session of your "
                                    "account is logged out; log in with the new password."))
        return redirect("cabinet:login")
    return render(request, "cabinet/password_change.html", {"form": form},
                  status=400 if form.errors else 200)


# --- profile, e-mail, referral code ---------------------------------------------------------


def _account_page(request: PartnerRequest, *, profile_form: ProfileForm | None = None,
                  code_form: CodeChoiceForm | None = None, status: int = 200) -> HttpResponse:
    partner = request.partner
    return render(request, "cabinet/account.html", {
        "partner": partner,
        "profile_form": profile_form or ProfileForm(initial={
            "time_zone": partner.time_zone, "language": partner.language}),
        "code_form": code_form or CodeChoiceForm(),
        "old_links": [public_url(f"/ref/{code}/") for code in partner_old_codes(partner.pk)],
        "twofactor_on": twofactor_enabled(partner.user),
        "recovery_codes_left": recovery_codes_left(partner.user),
    }, status=status)


@partner_required
@require_http_methods(["GET", "POST"])
def account(request: PartnerRequest) -> HttpResponse:
    """Profile: time zone and language."""
    if request.method != "POST":
        return _account_page(request)
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            partner = partner_profile_update(partner=request.partner,
                                             time_zone=form.cleaned_data["time_zone"],
                                             language=form.cleaned_data["language"])
        except PartnerError as error:
            add_refusal(form, error)
        else:
            if partner.language:
                translation.activate(partner.language)
            messages.success(request, _("Your profile is saved."))
            response = redirect("cabinet:account")
            _set_language_cookie(response, partner.language)
            return response
    return _account_page(request, profile_form=form, status=400)


@require_POST
@partner_required
def code_choose(request: PartnerRequest) -> HttpResponse:
    """The vanity referral code, once."""
    form = CodeChoiceForm(request.POST)
    if form.is_valid():
        try:
            partner = partner_code_choose(partner=request.partner,
                                          code=form.cleaned_data["code"])
        except PartnerError as error:
            add_refusal(form, error)
        else:
            messages.success(request, _("Your referral link is %(link)s now.")
                             % {"link": partner.referral_link})
            return redirect("cabinet:account")
    return _account_page(request, code_form=form, status=400)


@partner_required
@require_http_methods(["GET", "POST"])
@fresh_second_factor_required(on_get=True, keep_post=False)  # its form asks the password
def email_change(request: PartnerRequest) -> HttpResponse:
    """Sends a confirmation link to the new address; nothing changes until it is followed."""
    partner = request.partner
    form = EmailChangeForm(request.POST or None, user=partner.user)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        try:
            token = email_change_token_make(partner=partner, email=email)
        except PartnerError as error:
            add_refusal(form, error)
        else:
            if email_has_account(email):
                # Told to the new address only: the partner asking learns nothing of others.
                _mail(to=email, template="cabinet/email/email_change_taken.txt", context={},
                      language=partner.language)
            else:
                _mail(to=email, template="cabinet/email/email_change_confirm.txt",
                      language=partner.language, context={
                          "old_email": partner.email,
                          "confirm_url": public_url(
                              reverse("cabinet:email_change_confirm", args=[token])),
                      })
            messages.success(request, _("We sent a confirmation link to %(email)s; your e-mail "
                                        "changes when you follow it.") % {"email": email})
            return redirect("cabinet:account")
    return render(request, "cabinet/email_change.html", {"form": form},
                  status=400 if form.errors else 200)


@partner_required
@require_http_methods(["GET", "POST"])
def email_change_confirm(request: PartnerRequest, token: str) -> HttpResponse:
    """The page the change link opens: a button applies the change (a mail scanner's GET
    changes nothing)."""
    partner = request.partner
    if request.method == "POST":
        old_email = partner.email
        try:
            partner_email_change(partner=partner, token=token)
        except PartnerError as error:
            messages.error(request, error.message)
        else:
            _mail(to=old_email, template="cabinet/email/email_changed.txt",
                  context={"new_email": partner.email}, language=partner.language)
            messages.success(request, _("Your e-mail is %(email)s now; log in with it.")
                             % {"email": partner.email})
        return redirect("cabinet:account")
    return render(request, "cabinet/email_change_confirm.html",
                  {"new_email": email_change_token_new_email(token=token)})
