"""Account formats: each valid, one character off, the wrong network; the refusal on the
exchange page and in `exchange_create`."""

from __future__ import annotations

from decimal import Decimal

import base58
import pytest

from obmin.exchange.accounts import EXAMPLES, AccountFormat, account_normalize
from obmin.exchange.models import Exchange
from obmin.exchange.services import ExchangeError, exchange_create

F = AccountFormat

VALID = [
    (F.BITCOIN, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),  # pay-to-key-hash
    (F.BITCOIN, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),  # pay-to-script-hash
    (F.BITCOIN, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),  # segwit v0, bech32
    (F.BITCOIN, "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ"),  # bech32 in upper case
    (F.BITCOIN, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"),  # bech32m
    (F.LITECOIN, "ltc1qg42tkwuuxefutzxezdkdel39gfstuap288mfea"),
    (F.LITECOIN, base58.b58encode_check(bytes([0x30]) + bytes(20)).decode()),
    (F.ETHEREUM, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),  # EIP-55
    (F.ETHEREUM, "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"),
    (F.ETHEREUM, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),  # one case: no checksum
    (F.TRON, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
    (F.MONERO, EXAMPLES[F.MONERO]),
    (F.TON, "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N"),
    (F.TON, "0:" + "83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8"),
    (F.CARD, "4111111111111111"),
    (F.CARD, "5555 5555 5555 4444"),
    (F.PERFECT_MONEY, "U1234567"),
    (F.PERFECT_MONEY, "U12345678"),
    (F.ADVCASH, "U123456789012"),
    (F.ADVCASH, "wallet@example.com"),
    (F.PAYEER, "P1000000"),
    (F.ANY, "anything at all"),
]


@pytest.mark.parametrize(("account_format", "account"), VALID)
def test_valid_accounts_pass(account_format, account):
    assert account_normalize(account_format, account) is not None


@pytest.mark.parametrize("account_format", [f for f in F if f != F.ANY])
def test_every_example_is_valid(account_format):
    assert account_normalize(account_format, EXAMPLES[account_format])


def test_kept_forms():
    assert account_normalize(F.CARD, " 5555 5555-5555 4444 ") == "5555555555554444"
    assert account_normalize(F.PERFECT_MONEY, "u1234567") == "U1234567"
    assert account_normalize(F.BITCOIN, "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ") == \
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


OFF_BY_ONE = [
    (F.BITCOIN, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"),
    (F.BITCOIN, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz"),
    (F.BITCOIN, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr"),
    (F.BITCOIN, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj1"),
    (F.LITECOIN, "ltc1qg42tkwuuxefutzxezdkdel39gfstuap288mfeb"),
    (F.ETHEREUM, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),  # case of one letter
    (F.TRON, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u"),
    (F.TON, "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2M"),
    (F.CARD, "4111111111111112"),  # Luhn
    (F.PERFECT_MONEY, "U123456"),
    (F.PAYEER, "P100000"),
    (F.ADVCASH, "U12345678901"),
]


@pytest.mark.parametrize(("account_format", "account"), OFF_BY_ONE)
def test_one_character_off_is_refused(account_format, account):
    assert account_normalize(account_format, account) is None


WRONG_NETWORK = [
    (F.BITCOIN, "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"),  # testnet bech32
    (F.BITCOIN, base58.b58encode_check(bytes([0x6F]) + bytes(20)).decode()),  # testnet m/n…
    (F.BITCOIN, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),  # an Ethereum address
    (F.BITCOIN, "ltc1qg42tkwuuxefutzxezdkdel39gfstuap288mfea"),  # Litecoin
    (F.BITCOIN, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),  # TRON
    (F.LITECOIN, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),  # Bitcoin
    (F.TRON, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
    (F.TRON, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
    (F.ETHEREUM, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
    (F.CARD, "U1234567"),
    (F.PERFECT_MONEY, "P1000000"),
    (F.MONERO, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    (F.ANY, "   "),
]


@pytest.mark.parametrize(("account_format", "account"), WRONG_NETWORK)
def test_wrong_network_is_refused(account_format, account):
    assert account_normalize(account_format, account) is None


@pytest.mark.django_db
def test_exchange_create_refuses_a_wrong_account_and_creates_nothing(pm_btc):
    pm_btc.currency_get.account_format = F.BITCOIN
    pm_btc.currency_get.save()
    with pytest.raises(ExchangeError) as refused:
        exchange_create(direction=pm_btc, amount_give=Decimal(100), email="c@example.org",
                        account_get="bc1qreferred1")
    assert refused.value.field == "account_get"
    assert "Bitcoin address" in refused.value.message
    assert "BTC" in refused.value.message
    assert not Exchange.objects.exists()
    exchange = exchange_create(direction=pm_btc, amount_give=Decimal(100),
                               email="c@example.org", account_get=EXAMPLES[F.BITCOIN].upper())
    assert exchange.account_get == EXAMPLES[F.BITCOIN]


@pytest.mark.django_db
def test_exchange_page_shows_the_refusal_beside_the_account(client, pm_btc):
    pm_btc.currency_get.account_format = F.BITCOIN
    pm_btc.currency_get.save()
    response = client.post("/exchange/", {
        "cur_from": "PMUSD", "cur_to": "BTC", "amount_give": "100",
        "email": "customer@example.org", "account_get": "bc1qreferred1"})
    assert response.status_code == 400
    assert "Bitcoin address" in response.context["form"].errors["account_get"][0]
    assert not Exchange.objects.exists()
