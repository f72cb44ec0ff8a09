"""The customer's side of an exchange: the amount to receive, the e-mails with the page's
link, the status as the page polls it, and the look-up of lost pages."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from obmin.exchange.models import Currency, Direction, Exchange
from obmin.exchange.services import (
    customer_mark_paid,
    exchange_create,
    exchange_set_status,
    quote,
    quote_for_get,
)
from obmin.testing.factories import CurrencyFactory, DirectionFactory

pytestmark = pytest.mark.django_db
ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


@pytest.fixture
def direction(db):
    give = CurrencyFactory(code="PMUSD", decimals=2, reserve=Decimal(10**6))
    get = CurrencyFactory(code="BTC", decimals=8, reserve=Decimal(100))
    return DirectionFactory(currency_give=give, currency_get=get, rate_give=Decimal("97000.5"),
                            rate_get=Decimal(1), fee_give_percent=Decimal("0.5"),
                            fee_get=Decimal("0.0001"), min_amount=Decimal(10),
                            max_amount=Decimal(0))


@hsettings(max_examples=60, deadline=None)
@given(wanted=st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal(50), places=8),
       fee=st.decimals(min_value=0, max_value=5, places=2),
       rate=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2))
def test_the_amount_to_give_is_the_least_that_gets_the_amount_wanted(wanted, fee, rate):
    # Unsaved rows: quoting needs no database.
    direction = Direction(currency_give=Currency(code="PMUSD", decimals=2),
                          currency_get=Currency(code="BTC", decimals=8), rate_give=rate,
                          rate_get=Decimal(1), fee_give_percent=fee, fee_get=Decimal("0.0001"))
    q = quote_for_get(direction, wanted)
    assert q.amount_get >= wanted
    assert quote(direction, q.amount_give - Decimal("0.01")).amount_get < wanted


def test_the_form_takes_the_amount_to_receive(client, direction, mailoutbox,
                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("exchange:form"), {
            "cur_from": "PMUSD", "cur_to": "BTC", "amount_get": "0.01", "side": "get",
            "email": "Buyer@Example.org", "account_get": ADDRESS})
    assert response.status_code == 302
    exchange = Exchange.objects.get()
    assert exchange.amount_get >= Decimal("0.01")
    assert exchange.amount_give == quote_for_get(exchange.direction, Decimal("0.01")).amount_give
    # The e-mail with the page's link: what a customer who closes the tab comes back by.
    assert [m.to for m in mailoutbox] == [["buyer@example.org"]]
    assert f"/exchange/{exchange.token}/" in mailoutbox[0].body
    assert f"#{exchange.pk}" in mailoutbox[0].subject


def test_an_amount_is_needed_on_one_side(client, direction):
    response = client.post(reverse("exchange:form"), {
        "cur_from": "PMUSD", "cur_to": "BTC", "email": "b@example.org", "account_get": ADDRESS})
    assert response.status_code == 400 and not Exchange.objects.exists()
    assert "the amount you receive" in response.content.decode()


def test_each_status_change_is_e_mailed_in_the_customers_language(
        direction, mailoutbox, django_capture_on_commit_callbacks):
    exchange = exchange_create(direction=direction, amount_give=Decimal(1000),
                               email="b@example.org", account_get=ADDRESS, language="uk")
    with django_capture_on_commit_callbacks(execute=True):
        exchange_set_status(exchange_id=exchange.pk, status="paid")
        exchange_set_status(exchange_id=exchange.pk, status="success", txid="out-tx-9")
    assert len(mailoutbox) == 2
    assert "out-tx-9" in mailoutbox[1].body
    assert "Обмін" in mailoutbox[1].subject


def test_status_json_and_the_page_keep_the_payment_and_show_the_payout(client, direction):
    exchange = exchange_create(direction=direction, amount_give=Decimal(1000),
                               email="b@example.org", account_get=ADDRESS)
    page = client.get(reverse("exchange:detail", args=[exchange.token])).content.decode()
    assert 'name="txid"' in page and 'id="payment"' in page
    customer_mark_paid(token=exchange.token, txid="in-tx-1")
    page = client.get(reverse("exchange:detail", args=[exchange.token])).content.decode()
    assert 'id="payment"' in page and "in-tx-1" in page and 'name="txid"' not in page
    exchange_set_status(exchange_id=exchange.pk, status="received")
    exchange_set_status(exchange_id=exchange.pk, status="success", txid="out-tx-9")
    state = client.get(reverse("exchange:status", args=[exchange.token])).json()
    assert state["status"] == "success" and state["payout_txid"] == "out-tx-9"
    assert state["final"] is True
    assert [row["label"] for row in state["history"]] == ["new", "paid", "received", "success"]


def test_lookup_sends_the_links_and_says_the_same_for_an_unknown_address(
        client, direction, mailoutbox, django_capture_on_commit_callbacks):
    exchange = exchange_create(direction=direction, amount_give=Decimal(1000),
                               email="b@example.org", account_get=ADDRESS)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(reverse("exchange:lookup"), {"email": "B@example.org"})
        unknown = client.post(reverse("exchange:lookup"), {"email": "nobody@example.org"})
    strip = lambda r: re.sub(r'value="[^"]*"', "", r.content.decode())  # noqa: E731 (CSRF)
    assert known.status_code == unknown.status_code == 200
    assert strip(known) == strip(unknown)
    assert [m.to for m in mailoutbox] == [["b@example.org"]]
    assert f"/exchange/{exchange.token}/" in mailoutbox[0].body


def test_lookup_is_rate_limited(client, direction, settings, mailoutbox,
                                django_capture_on_commit_callbacks):
    settings.EXCHANGE_LOOKUP_RATE_PER_EMAIL = "1/h"
    settings.EXCHANGE_LOOKUP_RATE_PER_IP = "3/h"
    exchange_create(direction=direction, amount_give=Decimal(1000), email="b@example.org",
                    account_get=ADDRESS)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answers = [client.post(reverse("exchange:lookup"), {"email": "b@example.org"})
                   for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert len(mailoutbox) == 1  # one address is not flooded


def test_the_page_says_how_long_it_usually_takes(client, direction, settings):
    """The median wait from "I have paid" to success of the direction's last exchanges; before
    the first, the time the operator is told to act within (OPERATOR_ALERT_WAIT_MINUTES)."""
    from datetime import timedelta

    from obmin.exchange.models import ExchangeStatusChange

    settings.OPERATOR_ALERT_WAIT_MINUTES = 45
    waiting = customer_mark_paid(token=exchange_create(
        direction=direction, amount_give=Decimal(100), email="w@example.org",
        account_get=ADDRESS).token)
    state = client.get(reverse("exchange:status", args=[waiting.token])).json()
    assert "within 45 min" in state["next"]
    for minutes in (10, 20, 90):
        done = customer_mark_paid(token=exchange_create(
            direction=direction, amount_give=Decimal(100), email="d@example.org",
            account_get=ADDRESS).token)
        exchange_set_status(exchange_id=done.pk, status="success", txid="out")
        paid = done.status_changes.get(status="paid")
        ExchangeStatusChange.objects.filter(exchange=done, status="success").update(
            created_at=paid.created_at + timedelta(minutes=minutes))
    state = client.get(reverse("exchange:status", args=[waiting.token])).json()
    assert "about 20 min" in state["next"]  # the median of 10, 20 and 90
    settings.OPERATOR_ALERT_WAIT_MINUTES = 0
    fresh = Direction.objects.get(pk=direction.pk)
    fresh.pk, fresh.city = None, "KIEV"  # no history and no promise configured: no time said
    fresh.save()
    other = customer_mark_paid(token=exchange_create(
        direction=fresh, amount_give=Decimal(100), email="o@example.org",
        account_get=ADDRESS).token)
    assert "min" not in client.get(reverse("exchange:status", args=[other.token])).json()["next"]
