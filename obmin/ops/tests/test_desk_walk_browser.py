"""Issue 29's walk in Debian's Chromium: a customer arrives by a partner's link, sees the rate,
enters the amount to receive, creates the exchange and gets the e-mail (file backend); closes
the page, reopens it from the e-mail's link and says paid with a transaction id. The operator
sees the queue's count, opens the exchange, marks it received, then success with the payout's
transaction id, from the keyboard. The customer's page, never reloaded, shows success and that
id by itself; the partner's reward is credited once.

Screenshots of the queue, the desk's exchange page and the customer's status page at 1280 and
375 px are kept in `test-artifacts/screenshots/` (or `$OBMIN_SCREENSHOTS`), not committed.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from obmin.exchange.models import Exchange, ExchangeStatus
from obmin.ops.tests import test_customer_journey_browser as issue16_walk
from obmin.ops.tests.test_customer_journey_browser import VALID_BTC, log_in
from obmin.rewards.models import LedgerEntry
from obmin.testing.browser import desktop_page, shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}
# The same direction as issue 16's walk (USDT TRC20 to BTC, alice's program, carol's password).
journey = issue16_walk.journey


def both_widths(page, name: str) -> None:
    """The page as it is at 1280 px and at 375 px, where it must not scroll sideways."""
    shoot(page, name)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"], name
    shoot(page, name)
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def mail_dir(settings, tmp_path, live_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    settings.SITE_URL = live_server.url
    return tmp_path / "mail"


def link_in_mail(mail_dir, token_pattern: str = r"[\w-]{20,}") -> str:
    text = "".join(path.read_text() for path in sorted(mail_dir.iterdir()))
    found = re.findall(r"(http://[^\s]+/exchange/" + token_pattern + r"/)", text)
    assert found, text
    return found[0]


def test_customer_and_operator_from_a_partner_link_to_success(browser, live_server, journey,
                                                               alice, carol, mail_dir):
    usdt = journey.currency_give
    usdt.explorer_url = "https://tronscan.org/#/transaction/{txid}"
    usdt.save()
    customer = desktop_page(browser, base_url=live_server.url)
    customer.goto("/ref/alice001/?cur_from=USDTTRC20&cur_to=BTC")
    # The rate, the limits and the reserve before any amount is typed.
    terms = customer.locator("#terms").inner_text()
    assert "100000 USDTTRC20 = 1 BTC" in terms and "10000" in terms and "reserve" in terms
    # Under the minimum: said at once, and no "You get".
    customer.fill("input[name=amount_get]", "0.00001")
    assert "minimum" in customer.locator("#amount-problem").inner_text()
    assert customer.locator("#amount-get").inner_text() == "—"
    customer.fill("input[name=amount_get]", "0.05")
    assert customer.locator("input[name=amount_give]").input_value().startswith("5000")
    assert customer.locator("#amount-get").inner_text() == "0.05000000 BTC"
    customer.fill("input[name=email]", "buyer@example.org")
    customer.fill("input[name=account_get]", VALID_BTC)
    customer.click("form#exchange-form button[type=submit]")
    customer.wait_for_url("**/exchange/*/")
    exchange = Exchange.objects.get()
    assert exchange.partner_id == alice.pk and exchange.amount_get == Decimal("0.05")
    customer.context.close()  # the customer closes the page...

    # ...and comes back by the e-mail's link.
    link = link_in_mail(mail_dir)
    assert link == f"{live_server.url}/exchange/{exchange.token}/"
    customer = desktop_page(browser, base_url=live_server.url)
    customer.goto(link)
    customer.fill("#txid", "cust-tx-5000")
    customer.click("#mark-paid button[type=submit]")
    customer.wait_for_selector("#status[data-status=paid]")
    assert customer.locator("#pay-to").is_visible()  # the payment details stay
    assert customer.locator("#customer-txid").inner_text() == "cust-tx-5000"
    customer.evaluate("window.notReloaded = true")

    # The operator: the count on the admin's index, the queue, the exchange.
    operator = desktop_page(browser, base_url=live_server.url)
    log_in(operator, "/admin/login/", carol.get_username())
    operator.goto("/admin/")
    assert operator.locator("#desk-count").inner_text() == "1"
    assert operator.title().startswith("(1) ")
    operator.click("#desk-link")
    operator.wait_for_selector("#desk-queue")
    assert operator.title().startswith("(1) ")
    both_widths(operator, "desk-queue")
    operator.click(f"text=#{exchange.pk}")
    operator.wait_for_selector("#desk-status")
    assert operator.locator("#desk-customer-txid").inner_text() == "cust-tx-5000"
    assert operator.locator("#desk-explorer").get_attribute("href") == \
        "https://tronscan.org/#/transaction/cust-tx-5000"
    assert "checksum correct" in operator.locator("#desk-account-check").inner_text()
    both_widths(operator, "desk-exchange")

    # From the keyboard: R opens "received", Enter confirms; S opens success, the payout's id.
    operator.keyboard.press("r")
    assert operator.evaluate("document.activeElement.id") == "note-received"
    operator.keyboard.press("Enter")
    operator.wait_for_selector("#desk-status.status-received")
    operator.keyboard.press("s")
    operator.keyboard.type("payout-tx-77")
    operator.keyboard.press("Enter")
    operator.wait_for_selector("#desk-status.status-success")
    assert operator.locator("#desk-payout-txid").inner_text() == "payout-tx-77"

    # The customer's page, never reloaded, shows it by itself.
    customer.wait_for_selector("#status[data-status=success]", timeout=20_000)
    assert customer.locator("#payout-txid").inner_text() == "payout-tx-77"
    assert customer.evaluate("window.notReloaded") is True
    both_widths(customer, "desk-customer-status")

    exchange.refresh_from_db()
    assert exchange.status == ExchangeStatus.SUCCESS and exchange.payout_txid == "payout-tx-77"
    assert [c.status for c in exchange.status_changes.all()] == [
        "new", "paid", "received", "success"]
    credits = LedgerEntry.objects.filter(exchange=exchange, partner=alice)
    assert credits.count() == 1 and exchange.reward_accrued  # credited once
    for page in (customer, operator):
        page.context.close()


@pytest.mark.parametrize(("status", "field", "value"), [
    ("received", "#note-received", ""),
    ("success", "#txid-success", "payout-tx-2"),
    ("error", "#note-error", "the amount did not arrive"),
    ("cancelled", "#note-cancelled", "asked by the customer"),
])
def test_a_double_click_on_a_desk_button_changes_the_status_once(browser, live_server, journey,
                                                                 carol, status, field, value):
    from obmin.exchange.services import customer_mark_paid, exchange_create

    exchange = exchange_create(direction=journey, amount_give=Decimal(100),
                               email="b@example.org", account_get=VALID_BTC)
    customer_mark_paid(token=exchange.token)
    operator = desktop_page(browser, base_url=live_server.url)
    log_in(operator, "/admin/login/", carol.get_username())
    operator.goto(f"/staff/desk/{exchange.pk}/")
    operator.click(f"#action-{status} summary")
    operator.fill(field, value)
    operator.dblclick(f"#action-{status} button.confirm")
    operator.wait_for_selector(f"#desk-status.status-{status}")
    assert list(exchange.status_changes.values_list("status", flat=True)) == [
        "new", "paid", status]
    operator.context.close()


def test_the_queue_shows_a_new_claim_without_a_reload(browser, live_server, journey, carol):
    from playwright.sync_api import expect

    from obmin.exchange.services import customer_mark_paid, exchange_create

    operator = desktop_page(browser, base_url=live_server.url)
    log_in(operator, "/admin/login/", carol.get_username())
    operator.goto("/staff/desk/")
    assert operator.locator("#waiting-count").inner_text() == "0"
    operator.evaluate("window.notReloaded = true")
    exchange = exchange_create(direction=journey, amount_give=Decimal(100),
                               email="b@example.org", account_get=VALID_BTC)
    customer_mark_paid(token=exchange.token, txid="claim-1")
    # The queue refreshes itself every 20 s and when the tab comes back into view.
    operator.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(operator.locator("#desk-queue tbody")).to_contain_text(f"#{exchange.pk}")
    assert operator.locator("#waiting-count").inner_text() == "1"
    assert operator.title().startswith("(1) ")
    assert "1" in operator.locator("#desk-news").inner_text()
    assert operator.evaluate("window.notReloaded") is True
    operator.context.close()
