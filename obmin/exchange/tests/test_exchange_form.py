"""The customer's exchange page: preselection, limits, reserve, bad input."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from obmin.exchange.models import Exchange, ExchangeStatusChange

pytestmark = pytest.mark.django_db
URL = "/exchange/"


def post(client, **overrides):
    data = {"cur_from": "PMUSD", "cur_to": "BTC", "amount_give": "100",
            "email": "customer@example.org", "account_get": "bc1qcustomerwallet"}
    data.update(overrides)
    return client.post(URL, data)


def selected(html: str, name: str) -> str | None:
    import re

    block = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    assert block, f"no select {name}"
    option = re.search(r'<option value="([^"]+)" selected>', block.group(0))
    return option.group(1) if option else None


def test_preselects_codes_case_insensitively(client, pm_btc):
    html = client.get(URL, {"cur_from": "pmusd", "cur_to": "Btc"}).content.decode()
    assert selected(html, "cur_from") == "PMUSD"
    assert selected(html, "cur_to") == "BTC"


def test_unknown_code_is_not_preselected_and_page_still_answers(client, pm_btc):
    response = client.get(URL, {"cur_from": "NOPE", "cur_to": "BTC"})
    assert response.status_code == 200
    html = response.content.decode()
    assert selected(html, "cur_from") is None
    assert selected(html, "cur_to") == "BTC"


def test_lists_only_active_directions(client, pm_btc, pm_usdt):
    pm_usdt.is_active = False
    pm_usdt.save()
    html = client.get(URL).content.decode()
    assert 'value="BTC"' in html
    assert 'value="USDTTRC20"' not in html


def test_creates_exchange_at_current_rate_and_shows_it_by_token(client, pm_btc):
    response = post(client, amount_give="250")
    assert response.status_code == 302
    exchange = Exchange.objects.get()
    assert response["Location"] == reverse("exchange:detail", args=[exchange.token])
    assert len(exchange.token) >= 30
    assert exchange.amount_give == Decimal("250")
    assert exchange.amount_get == Decimal("0.0025")
    assert exchange.rate_give == Decimal(100000) and exchange.rate_get == Decimal(1)
    assert exchange.status == "new"
    assert list(exchange.status_changes.values_list("status", flat=True)) == ["new"]
    page = client.get(response["Location"])
    assert b"0.0025" in page.content and b"BTC" in page.content


def test_lowercase_codes_in_post_work(client, pm_btc):
    assert post(client, cur_from="pmusd", cur_to="btc").status_code == 302


def test_fees_reduce_the_amount_received(client, pm_btc):
    pm_btc.fee_give_percent = Decimal("1")
    pm_btc.fee_get = Decimal("0.0001")
    pm_btc.save()
    post(client, amount_give="1000")
    # 1000 - 1% = 990 USD → 0.0099 BTC, minus 0.0001 BTC network fee
    assert Exchange.objects.get().amount_get == Decimal("0.0098")


@pytest.mark.parametrize(("amount", "message"), [
    ("5", "minimum for this direction is 10 PMUSD"),
    ("5001", "maximum for this direction is 5000 PMUSD"),
    ("0", "Ensure this value is greater than or equal to"),
    ("-3", "Ensure this value is greater than or equal to"),
    ("abc", "Enter a number"),
    ("1e400", "digits in total"),
])
def test_amounts_outside_the_limits_are_refused(client, pm_btc, amount, message):
    response = post(client, amount_give=amount)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Exchange.objects.exists()


def test_more_than_the_reserve_is_refused(client, pm_btc, btc):
    btc.reserve = Decimal("0.001")  # worth 100 USD
    btc.save()
    response = post(client, amount_give="150")
    assert response.status_code == 400
    assert "at most 0.001 BTC" in response.content.decode()
    assert not Exchange.objects.exists()


@pytest.mark.parametrize("overrides", [
    {"cur_from": "NOPE"},
    {"cur_to": "ETH"},
    {"cur_from": "BTC", "cur_to": "PMUSD"},  # no such direction
    {"email": "not-an-email"},
    {"account_get": ""},
    {"amount_give": ""},
    {"cur_from": "PM\x00USD"},
])
def test_malformed_input_is_refused_with_form_error(client, pm_btc, overrides):
    response = post(client, **overrides)
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    assert not Exchange.objects.exists()
    assert not ExchangeStatusChange.objects.exists()


def test_inactive_direction_is_refused(client, pm_btc):
    pm_btc.is_active = False
    pm_btc.save()
    assert post(client).status_code == 400
    assert not Exchange.objects.exists()


def test_customer_marks_paid(client, pm_btc):
    location = post(client)["Location"]
    token = location.rstrip("/").split("/")[-1]
    response = client.post(reverse("exchange:mark_paid", args=[token]))
    assert response.status_code == 302
    exchange = Exchange.objects.get()
    assert exchange.status == "paid"
    assert [c.actor for c in exchange.status_changes.all()] == ["customer", "customer"]
    # A second press changes nothing.
    client.post(reverse("exchange:mark_paid", args=[token]))
    assert exchange.status_changes.count() == 2


def test_sequential_ids_do_not_open_exchange_pages(client, pm_btc):
    post(client)
    exchange = Exchange.objects.get()
    assert client.get(f"/exchange/{exchange.pk}/").status_code == 404


def test_customer_email_is_stored_lower_case(client, pm_btc):
    post(client, email="Customer@Example.ORG")
    assert Exchange.objects.get().email == "customer@example.org"
