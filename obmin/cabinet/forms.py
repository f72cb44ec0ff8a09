"""Forms of the partner cabinet."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class EmailLoginForm(AuthenticationForm):
    """Partners log in with e-mail and password (the username is the lower-cased e-mail)."""

    username = forms.EmailField(label=_("E-mail"),
                                widget=forms.EmailInput(attrs={"autofocus": True}))

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()
