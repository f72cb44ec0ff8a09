"""bob's key never sees or touches alice's clicks, exchanges, payouts or balance."""

from __future__ import annotations

from obmin.partner_api.tests.conftest import T0
from obmin.rewards.models import Payout
from obmin.rewards.selectors import partner_balance
from obmin.testing.factories import usable_wallet


def test_bob_sees_only_his_own(api, history, bob_key, alice_key):
    _r, links = api(bob_key, "get_links")
    assert list(links["data"]["items"]) == [str(history["bob_click"].pk)]
    _r, exchanges = api(bob_key, "get_exchanges")
    assert list(exchanges["data"]["items"]) == [str(history["bob_exchange"].pk)]
    _r, payouts = api(bob_key, "get_payouts")
    assert payouts["data"]["items"] == {}
    # And alice sees none of bob's.
    _r, links = api(alice_key, "get_links")
    assert str(history["bob_click"].pk) not in links["data"]["items"]
    _r, exchanges = api(alice_key, "get_exchanges")
    assert str(history["bob_exchange"].pk) not in exchanges["data"]["items"]


def test_bob_filters_cannot_reach_alice(api, history, bob_key):
    """Time windows, IP filters and pages that fit alice's rows still answer only bob's."""
    for method in ("get_links", "get_exchanges", "get_payouts"):
        _r, body = api(bob_key, method, start_time=T0, end_time=T0 + 86_400, offset=0,
                       limit=100)
        ids = set(body["data"]["items"])
        assert ids <= {str(history["bob_click"].pk), str(history["bob_exchange"].pk)}
    _r, body = api(bob_key, "get_links", ip="198.51.100.0")
    assert body["data"]["items"] == {}


def test_bob_info_is_his_own(api, history, bob, bob_key, alice):
    _r, body = api(bob_key, "get_info")
    assert body["data"]["link"] == bob.referral_link
    # bob's 3000 PMUSD exchange earned him 12 USD; alice's balance is held in her payout.
    assert body["data"]["balance"] == 12


def test_bob_add_payout_never_touches_alice(api, history, bob, bob_key, alice, usdt_method,
                                            pm_btc):
    from obmin.partner_api.tests.conftest import make_exchange

    make_exchange(pm_btc, alice, T0 + 400, "5000", status="success")
    alice_before = partner_balance(alice)
    alice_payouts = list(Payout.objects.filter(partner=alice).values())
    usable_wallet(bob, usdt_method.pk, "TQbob")
    _r, body = api(bob_key, "add_payout", method_id=usdt_method.pk, account="TQbob")
    assert body["error"] == 0
    payout = Payout.objects.get(pk=body["data"]["payout_id"])
    assert payout.partner == bob and payout.original_amount == 12
    assert partner_balance(alice) == alice_before == 20
    assert list(Payout.objects.filter(partner=alice).values()) == alice_payouts
    assert partner_balance(bob) == 0
