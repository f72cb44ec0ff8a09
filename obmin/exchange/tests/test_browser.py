"""A customer in a real browser: the exchange page computes, creates, and marks paid."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.exchange.models import Exchange

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_exchanges_in_the_browser(page, pm_btc, pm_usdt):
    page.goto("/exchange/?cur_from=pmusd&cur_to=usdttrc20")
    assert page.locator("select[name=cur_from]").input_value() == "PMUSD"
    assert page.locator("select[name=cur_to]").input_value() == "USDTTRC20"
    page.select_option("select[name=cur_to]", "BTC")
    page.fill("input[name=amount_give]", "250")
    assert page.locator("#amount-get").inner_text() == "0.00250000 BTC"
    page.fill("input[name=email]", "buyer@example.org")
    page.fill("input[name=account_get]", "bc1qbuyer")
    page.click("button[type=submit]")
    page.wait_for_url("**/exchange/*/")
    exchange = Exchange.objects.get()
    assert exchange.amount_get == Decimal("0.0025") and exchange.token in page.url
    page.click("#mark-paid button[type=submit]")
    page.wait_for_selector(".status-paid")
    exchange.refresh_from_db()
    assert exchange.status == "paid"


def test_form_errors_show_in_the_page(page, pm_btc):
    page.goto("/exchange/?cur_from=PMUSD&cur_to=BTC")
    page.fill("input[name=amount_give]", "1")
    page.fill("input[name=email]", "buyer@example.org")
    page.fill("input[name=account_get]", "bc1qbuyer")
    page.click("button[type=submit]")
    assert "minimum for this direction is 10 PMUSD" in page.locator(".errorlist").inner_text()
    assert Exchange.objects.count() == 0


def test_a_payment_said_elsewhere_shows_on_the_open_page(page, pm_btc):
    """The customer's bot (API v1's pay_bid) or the operator marks it paid while the page is
    open: the page follows by itself, the button goes and the page says it is marked paid."""
    from playwright.sync_api import expect

    from obmin.exchange.services import exchange_create, exchange_set_status

    exchange = exchange_create(direction=pm_btc, amount_give=Decimal("250"),
                               email="buyer@example.org", account_get="bc1qbuyer")
    page.goto(f"/exchange/{exchange.token}/")
    expect(page.locator("#mark-paid")).to_be_visible()
    expect(page.locator("#paid-note")).to_be_hidden()
    exchange_set_status(exchange_id=exchange.pk, status="paid", actor="api")
    expect(page.locator("#status")).to_have_attribute("data-status", "paid", timeout=15_000)
    expect(page.locator("#mark-paid")).to_be_hidden()
    expect(page.locator("#paid-note")).to_be_visible()
    expect(page.locator("#paid-note")).to_contain_text("marked paid")
