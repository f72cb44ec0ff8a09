"""The one form of a second factor: a code from the app or a recovery code."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        strip=True,
        help_text=_("The six digits your authenticator app shows, or one of your recovery codes."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autofocus": True,
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )


class AppCodeForm(forms.Form):
    """Confirming a new app: its code only."""

    code = forms.CharField(
        label=_("Code from the app"),
        max_length=12,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autocapitalize": "none",
            }
        ),
    )
