"""The single status-change function: transitions, history, reserves, the command line."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from obmin.exchange.hooks import exchange_status_changed
from obmin.exchange.models import Currency, Exchange, ExchangeStatus
from obmin.exchange.services import (
    ExchangeError,
    customer_mark_paid,
    exchange_create,
    exchange_set_status,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def exchange(pm_btc):
    return exchange_create(direction=pm_btc, amount_give=Decimal(1000),
                           email="c@example.org", account_get="bc1q")


def statuses(exchange: Exchange) -> list[tuple[str, str]]:
    return list(exchange.status_changes.values_list("previous_status", "status"))


def test_full_lifecycle_is_recorded_in_order(exchange):
    exchange_set_status(exchange_id=exchange.pk, status="paid", actor="customer")
    exchange_set_status(exchange_id=exchange.pk, status="success", actor="admin:carol")
    exchange.refresh_from_db()
    assert exchange.status == "success"
    assert statuses(exchange) == [("", "new"), ("new", "paid"), ("paid", "success")]
    times = list(exchange.status_changes.values_list("created_at", flat=True))
    assert times == sorted(times)


def test_success_moves_reserves_and_leaving_success_puts_them_back(exchange):
    exchange_set_status(exchange_id=exchange.pk, status="success")
    assert Currency.objects.get(code="BTC").reserve == Decimal("2") - Decimal("0.01")
    assert Currency.objects.get(code="PMUSD").reserve == Decimal("51000")
    exchange_set_status(exchange_id=exchange.pk, status="error")
    assert Currency.objects.get(code="BTC").reserve == Decimal("2")
    assert Currency.objects.get(code="PMUSD").reserve == Decimal("50000")


@pytest.mark.parametrize(("path", "refused"), [
    (["paid"], "new"),  # never back to new
    (["success"], "success"),  # same status
    (["paid", "success"], "paid"),
])
def test_refused_transitions_change_nothing(exchange, path, refused):
    for status in path:
        exchange_set_status(exchange_id=exchange.pk, status=status)
    before = statuses(exchange)
    with pytest.raises(ExchangeError):
        exchange_set_status(exchange_id=exchange.pk, status=refused)
    assert statuses(exchange) == before


def test_unknown_status_and_exchange_are_errors(exchange):
    with pytest.raises(ExchangeError, match="Unknown status"):
        exchange_set_status(exchange_id=exchange.pk, status="done")
    with pytest.raises(ExchangeError, match="No exchange"):
        exchange_set_status(exchange_id=exchange.pk + 1000, status="paid")


def test_receivers_hear_every_change_inside_the_transaction(exchange):
    heard = []

    def receiver(sender, exchange, previous_status, status, **kwargs):
        heard.append((previous_status, status))

    exchange_status_changed.connect(receiver)
    try:
        exchange_set_status(exchange_id=exchange.pk, status="paid")
        exchange_set_status(exchange_id=exchange.pk, status="success")
    finally:
        exchange_status_changed.disconnect(receiver)
    assert heard == [("new", "paid"), ("paid", "success")]


def test_command_calls_the_same_function(exchange, capsys):
    call_command("exchange", "status", str(exchange.pk), "paid")
    assert capsys.readouterr().out.strip().endswith("is now paid")
    exchange.refresh_from_db()
    assert exchange.status == ExchangeStatus.PAID
    assert exchange.status_changes.last().actor == "cli"


def test_command_refuses_bad_input(exchange):
    with pytest.raises(CommandError, match="already paid"):
        call_command("exchange", "status", str(exchange.pk), "paid")
        call_command("exchange", "status", str(exchange.pk), "paid")
    with pytest.raises(CommandError):
        call_command("exchange", "status", "999999", "paid")


def set_status_in_admin(client, exchange, status, **confirm):
    """The list's action for one exchange; with `confirm`, its confirmation page's submit."""
    form = {"action": f"set_status_{status}", "_selected_action": [exchange.pk]}
    if confirm:
        form |= {"confirm": "yes", f"shown_{exchange.pk}": confirm.pop("shown"), **confirm}
    return client.post("/admin/exchange/exchange/", form, follow=True)


def test_admin_action_asks_first_then_goes_through_the_function(client, carol, exchange):
    client.force_login(carol)
    asked = set_status_in_admin(client, exchange, "paid").content.decode()
    assert "Set status: paid" in asked and f'name="shown_{exchange.pk}" value="new"' in asked
    exchange.refresh_from_db()
    assert exchange.status == "new"  # nothing moves before the confirmation
    response = set_status_in_admin(client, exchange, "paid", shown="new", note="")
    assert response.status_code == 200
    exchange.refresh_from_db()
    assert exchange.status == "paid"
    assert exchange.status_changes.last().actor == "admin:carol@example.com"
    # The confirmation sent again (a double click): refused and reported, not raised.
    response = set_status_in_admin(client, exchange, "paid", shown="new", note="")
    assert "no longer" in response.content.decode()
    assert list(exchange.status_changes.values_list("status", flat=True)) == ["new", "paid"]


def test_admin_success_needs_the_payout_txid_and_changes_the_status_once(client, carol,
                                                                         exchange):
    client.force_login(carol)
    customer_mark_paid(token=exchange.token)
    asked = set_status_in_admin(client, exchange, "success").content.decode()
    assert 'name="txid"' in asked and "Note (optional)" in asked  # the reason is for errors
    missing = set_status_in_admin(client, exchange, "success", shown="paid", txid=" ", note="")
    assert "Give the transaction id of the payout you sent." in missing.content.decode()
    exchange.refresh_from_db()
    assert exchange.status == "paid"
    for _click in range(2):
        set_status_in_admin(client, exchange, "success", shown="paid", txid="payout-9", note="")
    exchange.refresh_from_db()
    assert exchange.status == "success" and exchange.payout_txid == "payout-9"
    assert list(exchange.status_changes.values_list("status", flat=True)) == [
        "new", "paid", "success"]


def test_admin_confirmation_with_a_made_up_shown_status_is_refused_not_a_500(client, carol,
                                                                             exchange):
    client.force_login(carol)
    response = set_status_in_admin(client, exchange, "paid", shown="nonsense", note="")
    assert response.status_code == 200 and "Unknown status nonsense" in response.content.decode()
    exchange.refresh_from_db()
    assert exchange.status == "new"


def test_admin_cancel_needs_a_reason(client, carol, exchange):
    client.force_login(carol)
    set_status_in_admin(client, exchange, "cancelled", shown="new", note="")
    exchange.refresh_from_db()
    assert exchange.status == "new"
    set_status_in_admin(client, exchange, "cancelled", shown="new", note="asked by the customer")
    exchange.refresh_from_db()
    assert exchange.status == "cancelled"
    assert exchange.status_changes.last().note == "asked by the customer"


def test_claimed_then_received_then_success_keeps_both_transaction_ids(exchange):
    """A claimed payment (paid) and a confirmed one (received) are different states; the
    customer's and the payout's transaction ids land on the exchange and on their changes."""
    customer_mark_paid(token=exchange.token, txid="0xabc123")
    exchange_set_status(exchange_id=exchange.pk, status="received", actor="admin:carol")
    exchange_set_status(exchange_id=exchange.pk, status="success", actor="admin:carol",
                        txid="f00dbabe")
    exchange.refresh_from_db()
    assert (exchange.customer_txid, exchange.payout_txid) == ("0xabc123", "f00dbabe")
    assert statuses(exchange) == [("", "new"), ("new", "paid"), ("paid", "received"),
                                  ("received", "success")]
    assert list(exchange.status_changes.values_list("txid", flat=True)) == [
        "", "0xabc123", "", "f00dbabe"]


@pytest.mark.parametrize("txid", ["has space", "x" * 201, "tab\there", "ünïcode"])
def test_a_malformed_transaction_id_changes_nothing(exchange, txid):
    with pytest.raises(ExchangeError) as refused:
        exchange_set_status(exchange_id=exchange.pk, status="paid", txid=txid)
    assert refused.value.field == "txid"
    exchange.refresh_from_db()
    assert exchange.status == "new" and statuses(exchange) == [("", "new")]


def test_received_cannot_go_back_to_a_claim(exchange):
    exchange_set_status(exchange_id=exchange.pk, status="received")
    with pytest.raises(ExchangeError):
        exchange_set_status(exchange_id=exchange.pk, status="paid")


def test_customer_cannot_claim_payment_of_a_cancelled_exchange(exchange):
    exchange_set_status(exchange_id=exchange.pk, status="cancelled", actor="deadline")
    with pytest.raises(ExchangeError):
        customer_mark_paid(token=exchange.token)
    exchange.refresh_from_db()
    assert exchange.status == "cancelled"


def test_command_takes_a_payout_transaction_id(exchange, capsys):
    call_command("exchange", "status", str(exchange.pk), "received")
    call_command("exchange", "status", str(exchange.pk), "success", "--txid", "tx-77")
    exchange.refresh_from_db()
    assert exchange.payout_txid == "tx-77"
    assert capsys.readouterr().out.strip().endswith("is now success")


def test_admin_exchange_page_lists_its_changes_in_a_keyboard_reachable_box(client, carol,
                                                                           exchange):
    customer_mark_paid(token=exchange.token, txid="in-tx-7")
    client.force_login(carol)
    page = client.get(f"/admin/exchange/exchange/{exchange.pk}/change/").content.decode()
    history = page.split('id="status-history"')[1].split("</table>")[0]
    assert "paid" in history and "customer" in history and "in-tx-7" in history
    assert 'class="scroll-box" tabindex="0" role="region"' in page
    assert "obmin/admin.css" in page  # on every admin page (the breadcrumbs' underline)
