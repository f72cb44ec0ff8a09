"""create_bid checks accounts as the exchange page does (exchange/tests/test_typed_accounts.py):
the field at fault is named in `error_fields` with the character; names stay free in any script,
never invisible."""

from __future__ import annotations

import pytest

from obmin.exchange.accounts import EXAMPLES, AccountFormat
from obmin.exchange.models import DirectionField, Exchange
from obmin.partner_api.models import ApiBid
from obmin.partner_api.services import apikey_create
from obmin.partner_api.tests.test_v1 import V1Client

pytestmark = pytest.mark.django_db
BTC_ACCOUNT = EXAMPLES[AccountFormat.BITCOIN]


@pytest.fixture
def v1(client, alice, pm_btc, btc_checked):
    DirectionField.objects.create(direction=pm_btc, name="account1", label="PM account")
    DirectionField.objects.create(direction=pm_btc, name="cfgive8", label="Cardholder")
    key, raw = apikey_create(partner=alice, name="bot")
    return V1Client(client, key, raw)


def bid(v1, direction, **extra):
    params = {"direction_id": direction.pk, "calc_amount": "1000", "account2": BTC_ACCOUNT,
              "account1": "U1234567", "cfgive8": "Іван Петренко", "cf6": "customer@example.org",
              **extra}
    return v1("create_bid", **params)[1]


@pytest.mark.parametrize(("field", "value", "named"), [
    ("account2", BTC_ACCOUNT[:5] + "\u200b" + BTC_ACCOUNT[5:], "U+200B"),
    ("account2", BTC_ACCOUNT.replace("a", "\u0430", 1), "U+0430"),
    ("account1", "U12\u202e34567", "U+202E"),
    ("account1", "U1234567\u0445", "U+0445"),
    ("cf6", "customer@ex\u0430mple.org", "U+0430"),
    ("cfgive8", "Іван\u200b Петренко", "U+200B"),  # a name may be Cyrillic, never invisible
])
def test_create_bid_names_the_field_and_the_character(v1, pm_btc, field, value, named):
    answer = bid(v1, pm_btc, **{field: value})
    assert answer["error"] == 4, answer
    assert named in answer["error_fields"][field], answer
    assert not Exchange.objects.exists()


def test_create_bid_trims_no_break_spaces_and_keeps_names_in_any_script(v1, pm_btc):
    answer = bid(v1, pm_btc, account2=f"\u00a0{BTC_ACCOUNT}\u00a0", account1="U1234567\u00a0")
    assert str(answer["error"]) == "0", answer
    exchange = Exchange.objects.get()
    assert exchange.account_get == BTC_ACCOUNT
    assert ApiBid.objects.get().fields["account1"] == "U1234567"
    assert ApiBid.objects.get().fields["cfgive8"] == "Іван Петренко"
