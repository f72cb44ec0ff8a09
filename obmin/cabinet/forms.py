"""Forms of the partner cabinet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from obmin.lib.text import normalize_email
from obmin.rewards.selectors import PayoutMethodOffer


class EmailLoginForm(AuthenticationForm):
    """Partners log in with e-mail and password (the username is the lower-cased e-mail)."""

    username = forms.EmailField(label=_("E-mail"),
                                widget=forms.EmailInput(attrs={"autofocus": True}))

    def clean_username(self) -> str:
        return normalize_email(self.cleaned_data["username"])


class SignupForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput,
                                strip=False, max_length=128)
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput,
                                strip=False, max_length=128)

    def clean(self) -> dict[str, Any]:
        # The e-mail and the password's strength are checked by `partner_create`, the one way
        # an account is made; the form only checks what a person typed twice.
        cleaned = super().clean() or {}
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        return cleaned


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, required=False,
                           help_text=_("What the key is for, e.g. “accounting script”."))
    test = forms.BooleanField(label=_("Test key (sandbox with made-up data)"), required=False)
    allowed_ips = forms.CharField(
        label=_("Allowed IPs"), required=False, max_length=2000,
        help_text=_("Optional: addresses or networks, comma-separated. Empty: any address."))

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
        method.choices = [(o.id, f"{o.title} ({o.commission_percent.normalize()}%)")
                          for o in offers]
