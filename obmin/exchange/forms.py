"""The customer's exchange form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from obmin.exchange.models import Direction, normalize_currency_code
from obmin.exchange.selectors import find_direction
from obmin.exchange.services import (
    ExchangeError,
    check_account,
    check_quote,
    quote,
    quote_for_get,
    typed_text,
)
from obmin.lib.errors import add_refusal


class AsciiDecimalField(forms.DecimalField):
    """Django's DecimalField, in ASCII digits only: `Decimal()` also reads Arabic-Indic,
    Devanagari and full-width digits, which a person checking the amount may misread."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and not value.isascii():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class AccountField(forms.CharField):
    """An account or e-mail checked for invisible characters and look-alike letters
    (`services.typed_text`) before its format, so the reason names the character."""

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if not value:
            return value
        try:
            return typed_text(value, field="")
        except ExchangeError as error:
            raise forms.ValidationError(error.message, code="typed") from None


class AccountEmailField(AccountField, forms.EmailField):
    pass


class ExchangeForm(forms.Form):
    cur_from = forms.ChoiceField(label=_("You give"))
    cur_to = forms.ChoiceField(label=_("You get"))
    amount_give = AsciiDecimalField(label=_("Amount you give"), max_digits=30,
                                    decimal_places=10, min_value=Decimal("0.0000000001"),
                                    required=False)
    # Either amount may be typed; `side` says which one the customer gave (the page's script
    # fills the other for display only: the server computes it in Decimal).
    amount_get = AsciiDecimalField(label=_("Amount you receive"), max_digits=30,
                                   decimal_places=10, min_value=Decimal("0.0000000001"),
                                   required=False)
    side = forms.ChoiceField(choices=[("give", "give"), ("get", "get")], initial="give",
                             required=False, widget=forms.HiddenInput)
    email = AccountEmailField(label=_("E-mail"), max_length=254)
    account_get = AccountField(label=_("Your account / wallet to receive"), max_length=200)

    def __init__(self, *args: Any, directions: list[Direction], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        gives = sorted({(d.currency_give.code, d.currency_give.title) for d in directions})
        gets = sorted({(d.currency_get.code, d.currency_get.title) for d in directions})
        for name, currencies in (("cur_from", gives), ("cur_to", gets)):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [(code, f"{title} ({code})") for code, title in currencies]
        self.direction: Direction | None = None

    def full_clean(self) -> None:
        # Codes arrive from monitors in any case; the choices are upper-case.
        if self.is_bound and hasattr(self.data, "copy"):
            data = self.data.copy()
            for name in ("cur_from", "cur_to"):
                data[name] = normalize_currency_code(self.data.get(name))
            self.data = data
        super().full_clean()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cur_from, cur_to = cleaned.get("cur_from"), cleaned.get("cur_to")
        if not cur_from or not cur_to:
            return cleaned
        direction = find_direction(cur_from, cur_to)
        if direction is None:
            self.add_error("cur_to", _("We do not exchange %(give)s to %(get)s.")
                           % {"give": cur_from, "get": cur_to})
            return cleaned
        self.direction = direction
        amount = cleaned.get("amount_give")
        wanted = cleaned.get("amount_get")
        if wanted is not None and (cleaned.get("side") == "get" or amount is None):
            amount = cleaned["amount_give"] = quote_for_get(direction, wanted).amount_give
        if amount is None:
            if "amount_give" not in self.errors and "amount_get" not in self.errors:
                self.add_error("amount_give", _("Enter the amount you give or the amount you "
                                                "receive."))
        else:
            try:
                check_quote(quote(direction, amount))
            except ExchangeError as error:
                add_refusal(self, error)
        account = cleaned.get("account_get")
        if account:
            try:
                check_account(currency=direction.currency_get, account=account)
            except ExchangeError as error:
                add_refusal(self, error)
        return cleaned


class LookupForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), max_length=254)
