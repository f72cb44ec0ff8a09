"""Payment instructions on the status page, "I have paid" and the unpaid-deadline cancel."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from obmin.exchange.models import Exchange
from obmin.exchange.services import exchange_create

pytestmark = pytest.mark.django_db

BTC_ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


@pytest.fixture
def btc_pm(btc, usd):
    """BTC → PMUSD, paid to our bech32 address."""
    from obmin.testing.factories import DirectionFactory

    btc.account_format = "bitcoin"
    btc.pay_to = BTC_ADDRESS
    btc.pay_instructions = "Send in one transaction."
    btc.pay_instructions_uk = "Надішліть однією транзакцією."
    btc.pay_minutes = 30
    btc.save()
    return DirectionFactory(currency_give=btc, currency_get=usd, rate_give=Decimal(1),
                            rate_get=Decimal(90000), min_amount=Decimal("0.001"),
                            max_amount=Decimal(1))


def create(direction, **overrides) -> Exchange:
    data = {"direction": direction, "amount_give": Decimal("0.05"), "email": "c@example.org",
            "account_get": "U1234567", **overrides}
    return exchange_create(**data)


def test_exchange_copies_where_to_pay_and_the_deadline(btc_pm):
    before = timezone.now()
    exchange = create(btc_pm)
    assert exchange.pay_to == BTC_ADDRESS
    assert before + timedelta(minutes=30) <= exchange.pay_deadline
    assert exchange.pay_deadline <= timezone.now() + timedelta(minutes=30)


def test_direction_overrides_the_currency(btc_pm):
    btc_pm.pay_to = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"
    btc_pm.pay_memo = "42"
    btc_pm.pay_minutes = 0
    btc_pm.save()
    exchange = create(btc_pm)
    assert exchange.pay_to == btc_pm.pay_to
    assert exchange.pay_memo == "42"
    assert exchange.pay_deadline is None


def test_status_page_shows_amount_destination_qr_and_deadline(client, btc_pm):
    exchange = create(btc_pm)
    html = client.get(reverse("exchange:detail", args=[exchange.token])).content.decode()
    assert 'id="pay-amount">0.05<' in html
    assert f'data-copy="{BTC_ADDRESS}"' in html
    assert 'id="pay-qr"><svg' in html
    assert "Send in one transaction." in html
    assert 'id="pay-deadline"' in html
    assert reverse("exchange:status", args=[exchange.token]) in html


def test_status_page_in_ukrainian_shows_ukrainian_instructions(client, btc_pm):
    exchange = create(btc_pm)
    client.cookies["django_language"] = "uk"
    html = client.get(reverse("exchange:detail", args=[exchange.token]),
                      HTTP_ACCEPT_LANGUAGE="uk").content.decode()
    assert "Надішліть однією транзакцією." in html


def test_no_qr_for_an_e_wallet_account(client, pm_btc):
    pm_btc.currency_give.pay_to = "U41738205"
    pm_btc.currency_give.save()
    exchange = exchange_create(direction=pm_btc, amount_give=Decimal(100),
                               email="c@example.org", account_get="bc1qany")
    html = client.get(reverse("exchange:detail", args=[exchange.token])).content.decode()
    assert "U41738205" in html
    assert "<svg" not in html


def test_status_json(client, btc_pm):
    exchange = create(btc_pm)
    answer = client.get(reverse("exchange:status", args=[exchange.token])).json()
    assert answer["status"] == "new"


def test_i_have_paid_confirms_and_tells_the_operator(client, btc_pm, settings, mailoutbox,
                                                     django_capture_on_commit_callbacks):
    settings.OPERATOR_EMAIL = "ops@example.com"
    exchange = create(btc_pm)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("exchange:mark_paid", args=[exchange.token]),
                               follow=True)
    assert "we are checking your payment" in response.content.decode()
    exchange.refresh_from_db()
    assert exchange.status == "paid"
    # The operator (ops.alerts, through the status hook) and the customer (their new status).
    assert sorted(m.to[0] for m in mailoutbox) == ["c@example.org", "ops@example.com"]
    told = next(m for m in mailoutbox if m.to == ["ops@example.com"])
    assert f"#{exchange.pk}" in told.subject
    assert BTC_ADDRESS in told.body and "U1234567" in told.body


def test_i_have_paid_without_operator_email_tells_only_the_customer(
        client, btc_pm, mailoutbox, django_capture_on_commit_callbacks):
    exchange = create(btc_pm)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("exchange:mark_paid", args=[exchange.token]))
    assert [m.to for m in mailoutbox] == [["c@example.org"]]


@pytest.mark.django_db(transaction=True)
def test_worker_cancels_new_exchanges_past_their_deadline(btc_pm):
    overdue, in_time, paid = create(btc_pm), create(btc_pm), create(btc_pm)
    Exchange.objects.filter(pk__in=[overdue.pk, paid.pk]).update(
        pay_deadline=timezone.now() - timedelta(minutes=1))
    from obmin.exchange.services import exchange_set_status

    exchange_set_status(exchange_id=paid.pk, status="paid", actor="customer")
    call_command("worker", "--burst")
    statuses = dict(Exchange.objects.values_list("pk", "status"))
    assert statuses == {overdue.pk: "cancelled", in_time.pk: "new", paid.pk: "paid"}
    change = overdue.status_changes.last()
    assert (change.previous_status, change.status, change.actor) == ("new", "cancelled",
                                                                     "deadline")


def test_paid_after_the_deadline_query_is_not_cancelled(btc_pm):
    # The duty picks new exchanges, then locks each: one paid in between must stay paid
    # (without only_from, paid -> cancelled is an allowed move).
    from obmin.exchange.services import ExchangeError, exchange_set_status

    exchange = create(btc_pm)
    exchange_set_status(exchange_id=exchange.pk, status="paid", actor="customer")
    with pytest.raises(ExchangeError, match="no longer"):
        exchange_set_status(exchange_id=exchange.pk, status="cancelled", actor="deadline",
                            only_from="new")
    exchange.refresh_from_db()
    assert exchange.status == "paid"
    assert [c.status for c in exchange.status_changes.order_by("id")] == ["new", "paid"]
