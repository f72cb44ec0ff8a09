"""Forms of the partner cabinet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from obmin.exchange.selectors import DirectionTable
from obmin.lib.mail import email_on_commit
from obmin.lib.models import SOURCE_MAX_LENGTH
from obmin.lib.money import plain
from obmin.lib.site import public_url
from obmin.lib.text import normalize_email
from obmin.partner_api.v1.catalog import ALL_METHODS
from obmin.partners.models import Partner
from obmin.partners.services import available_time_zones
from obmin.rewards.selectors import PayoutMethodOffer


class EmailLoginForm(AuthenticationForm):
    """Partners log in with e-mail and password (the username is the lower-cased e-mail)."""

    username = forms.EmailField(label=_("E-mail"),
                                widget=forms.EmailInput(attrs={"autofocus": True}))

    def clean_username(self) -> str:
        return normalize_email(self.cleaned_data["username"])


class SignupForm(forms.Form):
    """Sign-up asks only for the e-mail: the password is chosen after following the link
    sent there, so an account exists only for an address its owner proved."""

    email = forms.EmailField(label=_("E-mail"), max_length=254, widget=forms.EmailInput(
        attrs={"autofocus": True, "autocomplete": "email"}))

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])


class NewPasswordForm(forms.Form):
    """The password a new partner chooses on the page its sign-up link opens."""

    password1 = forms.CharField(label=_("Password"), strip=False, max_length=128,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("Password again"), strip=False, max_length=128,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self) -> dict[str, Any]:
        # The password's strength is checked by `partner_create`, the one way an account is
        # made; the form only checks what a person typed twice.
        cleaned = super().clean() or {}
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        return cleaned


class PasswordResetRequestForm(PasswordResetForm):
    """Django's reset form; the e-mail leaves through the worker (lib.mail), so the answer
    takes as long whether or not the address has an account, and in the partner's language."""

    email = forms.EmailField(label=_("E-mail"), max_length=254, widget=forms.EmailInput(
        attrs={"autofocus": True, "autocomplete": "email"}))

    def send_mail(self, subject_template_name: str, email_template_name: str,
                  context: dict[str, Any], from_email: str | None, to_email: str,
                  html_email_template_name: str | None = None) -> None:
        user = context["user"]
        context["reset_url"] = public_url(reverse("cabinet:password_reset_confirm", kwargs={
            "uidb64": context["uid"], "token": context["token"]}))
        partner = Partner.objects.filter(user_id=user.pk).only("language").first()
        with translation.override(partner.language if partner and partner.language
                                  else translation.get_language()):
            subject = "".join(render_to_string(subject_template_name, context).splitlines())
            body = render_to_string(email_template_name, context)
        email_on_commit(subject=subject, body=body, to=[to_email])


class ProfileForm(forms.Form):
    time_zone = forms.ChoiceField(
        label=_("Time zone"), required=False,
        help_text=_("Days in your statistics start at midnight in this zone."))
    language = forms.ChoiceField(
        label=_("Language"), required=False,
        help_text=_("Of your cabinet and of the e-mails we send you."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        time_zone = self.fields["time_zone"]
        language = self.fields["language"]
        assert isinstance(time_zone, forms.ChoiceField)
        assert isinstance(language, forms.ChoiceField)
        time_zone.choices = [("", _("Your browser's (else UTC)")),
                             *((name, name) for name in sorted(available_time_zones()))]
        language.choices = [("", _("Your browser's")), *settings.LANGUAGES]


class EmailChangeForm(forms.Form):
    email = forms.EmailField(label=_("New e-mail"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(label=_("Your current password"), strip=False, max_length=128,
                               widget=forms.PasswordInput(
                                   attrs={"autocomplete": "current-password"}))

    def __init__(self, *args: Any, user: AbstractBaseUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("The password is not right."))
        return password


class CodeChoiceForm(forms.Form):
    code = forms.CharField(
        label=_("Your referral code"), max_length=32,
        help_text=_("1 to 32 Latin letters, digits, “-” or “_”. You can choose it once; links "
                    "with your current code stop counting."))


class LinkBuilderForm(forms.Form):
    """A referral link for a direction: the currencies come from the active directions."""

    cur_from = forms.ChoiceField(label=_("Customer gives"), required=False)
    cur_to = forms.ChoiceField(label=_("Customer gets"), required=False)
    sub1 = forms.CharField(label="sub1", required=False, max_length=SOURCE_MAX_LENGTH)
    sub2 = forms.CharField(label="sub2", required=False, max_length=SOURCE_MAX_LENGTH)
    sub3 = forms.CharField(label="sub3", required=False, max_length=SOURCE_MAX_LENGTH)
    sub4 = forms.CharField(label="sub4", required=False, max_length=SOURCE_MAX_LENGTH)
    sub5 = forms.CharField(label="sub5", required=False, max_length=SOURCE_MAX_LENGTH)

    SUBS = ("sub1", "sub2", "sub3", "sub4", "sub5")

    def __init__(self, *args: Any, table: DirectionTable, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.table = table
        for name, codes in (("cur_from", table.gives), ("cur_to", table.gets)):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [("", _("any")), *((code, code) for code in sorted(codes))]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        give, get = cleaned.get("cur_from"), cleaned.get("cur_to")
        if give and get and (give, get) not in self.table.pairs:
            self.add_error("cur_to", _("We do not exchange %(give)s for %(get)s now; pick "
                                       "another pair or leave one side empty.")
                           % {"give": give, "get": get})
        return cleaned


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, required=False,
                           help_text=_("What the key is for, e.g. “accounting script”."))
    test = forms.BooleanField(label=_("Test key (sandbox with made-up data)"), required=False)
    allowed_ips = forms.CharField(
        label=_("Allowed IPs"), required=False, max_length=2000,
        help_text=_("Optional: addresses or networks, comma-separated. Empty: any address."))
    methods = forms.MultipleChoiceField(
        label=_("Methods"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(name, name) for name in ALL_METHODS],
        help_text=_("Optional: the API v1 methods the key may call (api.php's by their v1 "
                    "names). None chosen: all."))

    def clean_allowed_ips(self) -> list[str]:
        text = self.cleaned_data.get("allowed_ips") or ""
        return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


class PayoutRequestForm(forms.Form):
    method_id = forms.TypedChoiceField(label=_("Payout method"), coerce=int)
    account = forms.CharField(label=_("Your account / wallet"), max_length=200)

    def __init__(self, *args: Any, offers: Sequence[PayoutMethodOffer], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        method = self.fields["method_id"]
        assert isinstance(method, forms.ChoiceField)
        method.choices = [(o.id, f"{o.title} ({plain(o.commission_percent)}%)")
                          for o in offers]
