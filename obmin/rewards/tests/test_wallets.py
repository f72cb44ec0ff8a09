"""Saved payout wallets: checked like exchanges' accounts, usable after a cooling-off period
with an e-mail at once; payouts (cabinet, api.php, API v1) go only to them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from obmin.audit.models import AuditEntry
from obmin.exchange.accounts import EXAMPLES, AccountFormat
from obmin.exchange.services import exchange_set_status
from obmin.rewards.models import PayoutWallet, RewardOverride
from obmin.rewards.services import (
    PayoutError,
    ledger_check,
    payout_request,
    wallet_remove,
    wallet_save,
)

pytestmark = pytest.mark.django_db
D = Decimal
TRON = EXAMPLES[AccountFormat.TRON]


@pytest.fixture
def tron_method(usdt_method):
    usdt_method.account_format = AccountFormat.TRON
    usdt_method.save()
    return usdt_method


@pytest.fixture
def earned(alice, referred, program):
    RewardOverride.objects.create(partner=alice, kind="fixed", value=D("50"))
    exchange_set_status(exchange_id=referred("1000").pk, status="success")


def test_a_wallet_is_checked_like_an_exchanges_account(alice, tron_method):
    with pytest.raises(PayoutError) as caught:
        wallet_save(partner=alice, method_id=tron_method.pk, account=TRON[:-1] + "x")
    assert caught.value.field == "account" and "TRON address" in caught.value.message
    assert not PayoutWallet.objects.exists()
    wallet = wallet_save(partner=alice, method_id=tron_method.pk, account=f"  {TRON} ")
    assert wallet.account == TRON


def test_a_new_wallet_waits_out_its_cooling_off_and_mails_at_once(
        alice, tron_method, earned, program, time_machine, mailoutbox,
        django_capture_on_commit_callbacks):
    program.wallet_cooling_hours = 48
    program.save()
    with django_capture_on_commit_callbacks(execute=True):
        wallet = wallet_save(partner=alice, method_id=tron_method.pk, account=TRON)
    [mail] = mailoutbox
    assert mail.to == ["alice@example.com"] and TRON in mail.body
    assert "If you did not do this" in mail.body
    with pytest.raises(PayoutError, match="cooling-off"):
        payout_request(partner=alice, method_id=tron_method.pk)
    time_machine.move_to(wallet.usable_from + timedelta(seconds=1))
    payout = payout_request(partner=alice, method_id=tron_method.pk)
    assert payout.account == TRON
    assert ledger_check() == []


def test_payouts_go_only_to_the_saved_wallet(alice, bob, tron_method, earned, time_machine):
    with pytest.raises(PayoutError, match="Save a payout wallet") as caught:
        payout_request(partner=alice, method_id=tron_method.pk, account=TRON)
    assert caught.value.field == "account"
    wallet_save(partner=bob, method_id=tron_method.pk, account=TRON)
    with pytest.raises(PayoutError, match="Save a payout wallet"):
        payout_request(partner=alice, method_id=tron_method.pk, account=TRON)
    wallet = wallet_save(partner=alice, method_id=tron_method.pk,
                         account=EXAMPLES[AccountFormat.TRON])
    time_machine.move_to(wallet.usable_from + timedelta(hours=1))
    other = "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7"
    with pytest.raises(PayoutError, match="only to your saved wallet"):
        payout_request(partner=alice, method_id=tron_method.pk, account=other)


def test_a_change_starts_the_cooling_off_again_and_keeps_the_history(
        alice, tron_method, earned, time_machine):
    first = wallet_save(partner=alice, method_id=tron_method.pk, account=TRON)
    time_machine.move_to(first.usable_from + timedelta(hours=1))
    assert wallet_save(partner=alice, method_id=tron_method.pk, account=TRON) == first
    second = wallet_save(partner=alice, method_id=tron_method.pk,
                         account="TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7")
    with pytest.raises(PayoutError, match="cooling-off"):
        payout_request(partner=alice, method_id=tron_method.pk)
    first.refresh_from_db()
    assert first.removed_at is not None and second.removed_at is None
    trail = list(AuditEntry.objects.filter(object_type="rewards.payoutwallet").order_by("id")
                 .values_list("action", "before"))
    assert trail == [("wallet.added", None), ("wallet.changed", {"account": TRON})]


def test_a_removed_wallet_takes_no_payout_and_others_cannot_remove_it(
        alice, bob, tron_method, earned, time_machine):
    wallet = wallet_save(partner=alice, method_id=tron_method.pk, account=TRON)
    with pytest.raises(PayoutError, match="No such wallet"):
        wallet_remove(partner=bob, wallet_id=wallet.pk)
    wallet_remove(partner=alice, wallet_id=wallet.pk)
    time_machine.move_to(wallet.usable_from + timedelta(hours=1))
    with pytest.raises(PayoutError, match="Save a payout wallet"):
        payout_request(partner=alice, method_id=tron_method.pk)
    assert AuditEntry.objects.filter(action="wallet.removed").count() == 1


def test_the_shared_wallet_rule_sees_saved_wallets(alice, bob, tron_method, referred, program):
    from obmin.rewards.models import RewardReview

    wallet_save(partner=alice, method_id=tron_method.pk, account=TRON)
    wallet_save(partner=bob, method_id=tron_method.pk, account=TRON)
    exchange = referred("1000")
    exchange_set_status(exchange_id=exchange.pk, status="success")
    [hit] = RewardReview.objects.get(exchange=exchange).evidence
    assert hit == {"rule": "shared_wallet", "account": TRON, "partners": ["bob00002"]}


def test_the_cabinet_saves_a_wallet_and_pays_only_to_it(client, alice, tron_method, earned,
                                                        time_machine):
    client.force_login(alice.user)
    bad = client.post("/cabinet/payouts/wallets/", {"method_id": tron_method.pk,
                                                     "account": "T123"})
    assert bad.status_code == 400 and "TRON address" in bad.text
    saved = client.post("/cabinet/payouts/wallets/", {"method_id": tron_method.pk,
                                                       "account": TRON}, follow=True)
    assert "Wallet saved. Payouts can go to it from" in saved.text
    assert TRON in saved.text
    early = client.post("/cabinet/payouts/", {"method_id": tron_method.pk, "account": ""})
    assert early.status_code == 400 and "cooling-off" in early.text
    time_machine.move_to(PayoutWallet.objects.get().usable_from + timedelta(minutes=1))
    done = client.post("/cabinet/payouts/", {"method_id": tron_method.pk, "account": ""},
                       follow=True)
    assert "requested" in done.text
    assert alice.payouts.get().account == TRON
