"""The ledger is append-only, and `obmin ledger check` catches any row changed behind its back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from obmin.exchange.services import exchange_set_status
from obmin.rewards.models import LedgerEntry, LedgerImmutable
from obmin.rewards.selectors import partner_balance
from obmin.testing.factories import payout_to

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def books(referred, alice, bob, usdt_method):
    """Credits, a reversal and a pending payout, as a live program would have."""
    for partner, amount in ((alice, "3000"), (alice, "1000"), (bob, "1000")):
        exchange = referred(amount, partner=partner)
        exchange_set_status(exchange_id=exchange.pk, status="success")
    exchange_set_status(exchange_id=exchange.pk, status="cancelled")  # bob's, reversed
    payout_to(partner=alice, method_id=usdt_method.pk, account="TXabc")
    return LedgerEntry.objects.order_by("id")


def check() -> tuple[bool, str]:
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("ledger", "check", stdout=out, stderr=err)
    except CommandError as error:
        return False, err.getvalue() + str(error)
    return True, out.getvalue()


def test_entries_cannot_be_changed_or_removed_through_the_orm(books):
    entry = books.first()
    entry.amount = D("1000")
    with pytest.raises(LedgerImmutable):
        entry.save()
    with pytest.raises(LedgerImmutable):
        entry.delete()
    with pytest.raises(LedgerImmutable):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=D("1000"))
    with pytest.raises(LedgerImmutable):
        LedgerEntry.objects.all().delete()
    with pytest.raises(LedgerImmutable):
        LedgerEntry.objects.bulk_update([entry], ["amount"])
    assert LedgerEntry.objects.get(pk=entry.pk).amount != D("1000")


def test_admin_shows_the_ledger_read_only(books, client, carol):
    client.force_login(carol)
    entry = books.first()
    assert client.get("/admin/rewards/ledgerentry/").status_code == 200
    page = client.get(f"/admin/rewards/ledgerentry/{entry.pk}/change/")
    assert page.status_code == 200 and b'name="amount"' not in page.content
    assert client.get("/admin/rewards/ledgerentry/add/").status_code == 403
    assert client.get(f"/admin/rewards/ledgerentry/{entry.pk}/delete/").status_code == 403


def test_check_passes_on_clean_books(books):
    ok, out = check()
    assert ok, out
    assert "Ledger OK" in out


def test_a_reward_reversed_after_its_payout_leaves_a_debt_not_a_mismatch(books, alice):
    # Alice's whole balance went into her payout; then one of her rewarded exchanges fails.
    credit = books.filter(partner=alice, kind="credit").first()
    exchange_set_status(exchange_id=credit.exchange_id, status="error")
    assert partner_balance(alice) == -credit.amount
    ok, out = check()
    assert ok, out
    assert f"partner {alice.pk} owes {credit.amount}" in out


def test_check_passes_with_no_books_at_all(db):
    assert check()[0]


def test_check_catches_a_tampered_entry(books, alice):
    entry = books.filter(partner=alice, kind="credit").first()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE rewards_ledgerentry SET amount = amount + 100 WHERE id = %s",
                       [entry.pk])
    ok, out = check()
    assert not ok
    assert f"partner {alice.pk}: balance" in out
    assert f"exchange {entry.exchange_id}: partner_reward" in out
    assert "mismatch" in out


def test_check_catches_a_tampered_balance(books, bob):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE rewards_partneraccount SET balance = 5 WHERE partner_id = %s",
                       [bob.pk])
    ok, out = check()
    assert not ok
    assert f"partner {bob.pk}: balance 5" in out


def test_check_catches_an_exchange_flag_out_of_step(books):
    credited = books.filter(kind="credit").first()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE exchange_exchange SET reward_accrued = %s WHERE id = %s",
                       [False, credited.exchange_id])
    ok, out = check()
    assert not ok
    assert f"exchange {credited.exchange_id}: accrued flag 0 but ledger says 1" in out


def test_check_catches_a_payout_whose_hold_vanished(books):
    hold = books.get(kind="payout_hold")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE rewards_payout SET status = 2 WHERE id = %s", [hold.payout_id])
    ok, out = check()
    assert not ok
    assert f"payout {hold.payout_id}: refused but the hold was not returned" in out


def test_a_paid_payout_is_an_entry_of_its_own_and_the_balance_stays(books, alice):
    from obmin.rewards.services import payout_mark_paid

    hold = books.get(kind="payout_hold")
    before = partner_balance(alice)
    payout_mark_paid(payout_id=hold.payout_id, actor="carol")
    paid = LedgerEntry.objects.get(kind="payout_paid")
    assert (paid.payout_id, paid.partner_id, paid.amount) == (hold.payout_id, alice.pk, D(0))
    assert partner_balance(alice) == before  # the hold already took the money
    assert check()[0]


def test_check_catches_a_paid_status_the_ledger_never_saw(books):
    hold = books.get(kind="payout_hold")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE rewards_payout SET status = 1 WHERE id = %s", [hold.payout_id])
    ok, out = check()
    assert not ok
    assert f"payout {hold.payout_id}: paid but the ledger has no payout-paid entry" in out
