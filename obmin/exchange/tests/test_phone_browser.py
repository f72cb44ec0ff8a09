"""A customer on a 375 px phone: home, exchange, status (new, paid, done with long transaction
ids) and look-up pages fit without sideways scrolling."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from obmin.exchange.models import Direction
from obmin.exchange.services import customer_mark_paid, exchange_create, exchange_set_status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}
# A real bech32 address (BIP 173's example): long, no spaces, the kind that used to run out.
ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


def test_home_exchange_and_status_pages_fit_a_phone(page, tmp_path):
    call_command("demo", "--no-serve")
    direction = Direction.objects.get(currency_give__code="PMUSD", currency_get__code="BTC")
    exchange = exchange_create(direction=direction, amount_give=Decimal(100),
                               email="phone@example.org", account_get=ADDRESS)
    # Transaction ids as a chain writes them: 64 hex digits, no place to break a line.
    paid = customer_mark_paid(token=exchange_create(
        direction=direction, amount_give=Decimal(100), email="phone@example.org",
        account_get=ADDRESS).token, txid="a1" * 32)
    done = customer_mark_paid(token=exchange_create(
        direction=direction, amount_give=Decimal(100), email="phone@example.org",
        account_get=ADDRESS).token, txid="b2" * 32)
    exchange_set_status(exchange_id=done.pk, status="success", txid="c3" * 32)
    page.set_viewport_size(PHONE)
    for name, url in [("home", "/"), ("exchange", "/exchange/?cur_from=PMUSD&cur_to=BTC"),
                      ("status", f"/exchange/{exchange.token}/"),
                      ("status-paid", f"/exchange/{paid.token}/"),
                      ("status-success", f"/exchange/{done.token}/"),
                      ("lookup", "/exchange/lookup/")]:
        page.goto(url)
        page.screenshot(path=str(tmp_path / f"{name}-375.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name} page is {width} px wide"
    # The home page keeps rate, reserve and the button on the screen.
    page.goto("/")
    page.screenshot(path=str(tmp_path / "home-375-screen.png"))
    button = page.locator("table a", has_text="Exchange").first.bounding_box()
    assert button is not None and button["x"] + button["width"] <= PHONE["width"]
