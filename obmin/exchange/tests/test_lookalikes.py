"""Issue 28.7: only ASCII digits where digits are meant, no control or bidi characters in any
stored account, amounts within the currency's decimals. Look-alikes (Arabic-Indic ٠-٩,
Extended Arabic-Indic ۰-۹, Devanagari, full-width ０-９) pass `str.isdigit`, `\\d`, `int()`
and `Decimal()`, so each check says ASCII explicitly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obmin.exchange.accounts import EXAMPLES, AccountFormat, account_normalize
from obmin.exchange.forms import ExchangeForm
from obmin.exchange.models import Exchange
from obmin.exchange.selectors import active_directions
from obmin.exchange.services import ExchangeError, exchange_create
from obmin.lib.text import has_hidden_characters

LOOKALIKE_DIGITS = {
    "arabic-indic": "٠١٢٣٤٥٦٧٨٩", "extended arabic-indic": "۰۱۲۳۴۵۶۷۸۹",
    "devanagari": "०१२३४५६७८९", "full-width": "０１２３４５６７８９",
}
HIDDEN = ["\x1b[31m", "\u202e", "\u200b", "\u2066", "\x00", "\u2028", "\ufeff"]


def lookalike(text: str, digits: str) -> str:
    return text.translate(str.maketrans("0123456789", digits))


@pytest.mark.parametrize("script", LOOKALIKE_DIGITS)
@pytest.mark.parametrize(("account_format", "account"), [
    (AccountFormat.CARD, "4111111111111111"), (AccountFormat.CARD, "4111 1111 1111 1111"),
    (AccountFormat.PERFECT_MONEY, "U1234567"), (AccountFormat.PAYEER, "P1000000"),
    (AccountFormat.ADVCASH, "U123456789012"),
])
def test_look_alike_digits_are_not_digits(script, account_format, account):
    assert account_normalize(account_format, account) is not None  # the ASCII one passes
    assert account_normalize(account_format, lookalike(account, LOOKALIKE_DIGITS[script])) \
        is None


@pytest.mark.parametrize("account_format", list(AccountFormat))
@pytest.mark.parametrize("hidden", HIDDEN)
def test_no_account_keeps_control_or_bidi_characters(account_format, hidden):
    example = EXAMPLES[account_format] or "IBAN UA21 3223 1300 0002 6007 2335 6600 1"
    for account in (example + hidden, hidden + example, example[:4] + hidden + example[4:]):
        assert account_normalize(account_format, account) is None


def test_case_folding_look_alikes_are_not_letters():
    # KELVIN SIGN folds to k, LONG S to s under Unicode case-insensitive matching.
    assert account_normalize(AccountFormat.PERFECT_MONEY, "\u212a1234567") is None
    assert account_normalize(AccountFormat.PAYEER, "P1000000") == "P1000000"


@given(st.text(max_size=40))
def test_a_kept_account_never_has_hidden_characters(text):
    for account_format in AccountFormat:
        kept = account_normalize(account_format, text)
        assert kept is None or not has_hidden_characters(kept)


def form(pm_btc, amount: str) -> ExchangeForm:
    return ExchangeForm({"cur_from": "PMUSD", "cur_to": "BTC", "amount_give": amount,
                         "email": "c@example.org", "account_get": EXAMPLES["bitcoin"]},
                        directions=active_directions())


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["١٠٠", "１００", "100.٥", "१००", "10.000000001", "100.001"])
def test_the_exchange_form_refuses_look_alike_and_over_precise_amounts(pm_btc, amount):
    bound = form(pm_btc, amount)
    assert not bound.is_valid()
    assert "amount_give" in bound.errors


@pytest.mark.django_db
def test_the_exchange_form_takes_ascii_amounts_in_the_currencys_decimals(pm_btc):
    assert form(pm_btc, "100.50").is_valid()
    assert form(pm_btc, "100.500000").is_valid()  # trailing zeros add no precision


@pytest.mark.django_db
def test_exchange_create_refuses_more_decimals_than_the_currency_has(pm_btc):
    with pytest.raises(ExchangeError) as refused:
        exchange_create(direction=pm_btc, amount_give=Decimal("10.000000001"),
                        email="c@example.org", account_get=EXAMPLES["bitcoin"])
    assert refused.value.field == "amount_give"
    assert not Exchange.objects.exists()
