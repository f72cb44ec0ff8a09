"""Issue 28.7 for payouts: method ids in ASCII digits only, no control or bidi characters in
a payout's account (api.php add_payout and the cabinet go through `payout_request`)."""

from __future__ import annotations

import pytest

from obmin.rewards.models import Payout, PayoutWallet
from obmin.rewards.services import PayoutError, payout_request, wallet_save

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("account", ["TX\u202eabc", "TX\u200babc", "\u2066TXabc", "TX\x1babc",
                                     "TXabc\ufeff"])
def test_a_payout_account_with_hidden_characters_is_refused(alice, usdt_method, account):
    # Checked where the wallet is saved (payouts go only to saved wallets).
    with pytest.raises(PayoutError) as refused:
        wallet_save(partner=alice, method_id=usdt_method.pk, account=account)
    assert refused.value.field == "account" and "invisible" in refused.value.message
    assert not PayoutWallet.objects.exists()
    with pytest.raises(PayoutError) as refused:
        payout_request(partner=alice, method_id=usdt_method.pk, account=account)
    assert refused.value.field == "account"
    assert not Payout.objects.exists()


@pytest.mark.parametrize("digits", ["０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹",
                                    "०१२३४५६७८९"])
def test_a_method_id_in_look_alike_digits_is_refused(alice, usdt_method, digits):
    method_id = str(usdt_method.pk).translate(str.maketrans("0123456789", digits))
    assert int(method_id) == usdt_method.pk  # what int() would have made of it
    with pytest.raises(PayoutError) as refused:
        payout_request(partner=alice, method_id=method_id, account="TXabc")
    assert refused.value.field == "method_id"


@pytest.mark.parametrize(("account", "named"), [
    ("TX\u200babc", "U+200B"), ("TX\u0430bc", "U+0430"), ("\u00a0TR7NH\u0435qjeKQ", "U+0435"),
])
def test_a_payout_account_is_checked_as_customers_accounts_are(alice, usdt_method, account,
                                                               named):
    # The same check as the exchange page's (exchange.services.typed_text): the character named,
    # a letter of another script among Latin ones refused too.
    with pytest.raises(PayoutError) as refused:
        wallet_save(partner=alice, method_id=usdt_method.pk, account=account)
    assert refused.value.field == "account" and named in refused.value.message
    assert not PayoutWallet.objects.exists()


def test_a_payout_wallet_is_kept_without_its_no_break_spaces(alice, usdt_method):
    wallet = wallet_save(partner=alice, method_id=usdt_method.pk, account="\u00a0TXabc\u00a0")
    assert wallet.account == "TXabc"
