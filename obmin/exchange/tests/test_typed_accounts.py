"""Accounts as customers type or paste them (issue: invisible characters and look-alike letters):
spaces at the edges are harmless and trimmed; an invisible or text-direction character, or a
letter of another script among Latin ones, is refused with a reason naming the character,
on the exchange page (API v1's create_bid: partner_api/tests/test_v1_typed_accounts.py)."""

from __future__ import annotations

import pytest

from obmin.exchange.accounts import EXAMPLES, AccountFormat
from obmin.exchange.models import Exchange

pytestmark = pytest.mark.django_db
BTC_ACCOUNT = EXAMPLES[AccountFormat.BITCOIN]


def post(client, **overrides):
    data = {"cur_from": "PMUSD", "cur_to": "BTC", "amount_give": "100",
            "email": "customer@example.org", "account_get": BTC_ACCOUNT}
    data.update(overrides)
    return client.post("/exchange/", data)


def errors(response, field):
    assert response.status_code == 400, "not refused"
    return " ".join(str(e) for e in response.context["form"].errors.get(field, []))


def test_no_break_spaces_at_the_edges_are_trimmed(client, pm_btc, btc_checked):
    response = post(client, account_get=f"\u00a0{BTC_ACCOUNT}\u00a0 ",
                    email="\u00a0customer@example.org\u00a0")
    assert response.status_code == 302
    exchange = Exchange.objects.get()
    assert exchange.account_get == BTC_ACCOUNT and exchange.email == "customer@example.org"


def test_free_text_accounts_keep_ordinary_spaces_only(client, pm_btc):
    assert post(client, account_get="IBAN UA21\u00a03223\u202f1300").status_code == 302
    assert Exchange.objects.get().account_get == "IBAN UA21 3223 1300"


@pytest.mark.parametrize("hidden", ["\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\u00ad"])
@pytest.mark.parametrize("with_format", [True, False])
def test_an_invisible_character_inside_the_account_is_named(client, pm_btc, btc, hidden,
                                                             with_format):
    if with_format:
        btc.account_format = AccountFormat.BITCOIN
        btc.save()
    response = post(client, account_get=BTC_ACCOUNT[:10] + hidden + BTC_ACCOUNT[10:])
    message = errors(response, "account_get")
    assert "invisible" in message and f"U+{ord(hidden):04X}" in message, message
    assert not Exchange.objects.exists()


@pytest.mark.parametrize("with_format", [True, False])
def test_a_cyrillic_letter_in_a_latin_address_is_refused(client, pm_btc, btc, with_format):
    if with_format:
        btc.account_format = AccountFormat.BITCOIN
        btc.save()
    response = post(client, account_get=BTC_ACCOUNT.replace("a", "\u0430", 1))
    message = errors(response, "account_get")
    assert "U+0430" in message and "CYRILLIC" in message, message
    assert not Exchange.objects.exists()


@pytest.mark.parametrize("email", ["customer@gm\u0430il.com", "customer@exa\u200bmple.org",
                                   "cust\u200bomer@example.org"])
def test_the_e_mail_refuses_them_too(client, pm_btc, email):
    message = errors(post(client, email=email), "email")
    assert "U+" in message, message
    assert not Exchange.objects.exists()


def test_an_account_in_one_other_script_is_taken(client, pm_btc):
    assert post(client, account_get="Приват картка 4111 1111 1111 1111").status_code == 302
