"""The whole path in Debian's Chromium, as issue 16 asks: a customer follows a partner's
link, is refused a wrong wallet, exchanges, sees where to pay (with the QR code), marks paid;
the operator sets success in the admin; the partner sees the reward, asks for a payout, the
operator marks it paid with a transaction id, and the partner sees that id.

Screenshots of each customer page at 1280 and 375 px are kept in `test-artifacts/screenshots/`
(or `$OBMIN_SCREENSHOTS`), so a reviewer can look at what the run saw.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.exchange.models import Exchange, ExchangeStatus
from obmin.rewards.models import Payout, PayoutMethod, PayoutStatus
from obmin.testing.browser import PHONE_UA as PHONE
from obmin.testing.browser import desktop_page, shoot
from obmin.testing.factories import DirectionFactory, usable_wallet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "journey-password-31"
TRON_DEPOSIT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
VALID_BTC = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
# The same address with its last character changed: the bech32 checksum no longer holds.
TYPO_BTC = VALID_BTC[:-1] + "x"


def fits(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def log_in(page, login_path: str, username: str) -> None:
    page.goto(login_path)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[type=submit]")


@pytest.fixture
def journey(program, alice, carol, usdt, btc):
    """USDT TRC20 → BTC: the customer pays to a TRON address (with a QR code) and gets BTC."""
    usdt.pay_to = TRON_DEPOSIT
    usdt.account_format = "tron"
    usdt.save()
    btc.account_format = "bitcoin"
    btc.save()
    for user in (alice.user, carol):
        user.set_password(PASSWORD)
        user.save()
    PayoutMethod.objects.create(title="USDT TRC20", currency_code="USDT")
    return DirectionFactory(currency_give=usdt, currency_get=btc, rate_give=Decimal(100000),
                            rate_get=Decimal(1), min_amount=Decimal(10),
                            max_amount=Decimal(10000), profit_percent=Decimal(2))


def test_from_a_partners_link_to_a_paid_out_reward(browser, live_server, journey, alice, carol):
    page = desktop_page(browser, base_url=live_server.url)

    # The monitor's hand-off lands on the direction, preselected.
    page.goto("/ref/alice001/?cur_from=USDTTRC20&cur_to=BTC")
    assert page.locator("select[name=cur_from]").input_value() == "USDTTRC20"
    assert page.locator("select[name=cur_to]").input_value() == "BTC"
    page.fill("input[name=amount_give]", "5000")
    page.fill("input[name=email]", "buyer@example.org")

    # A wallet with a typo is refused before it costs anything.
    page.fill("input[name=account_get]", TYPO_BTC)
    page.click("form button[type=submit]")
    assert "Bitcoin" in page.locator(".errorlist").inner_text()
    assert not Exchange.objects.exists()
    shoot(page, "journey-refused-wallet")

    page.fill("input[name=account_get]", VALID_BTC)
    page.click("form button[type=submit]")
    page.wait_for_url("**/exchange/*/")
    exchange = Exchange.objects.get()
    assert exchange.partner_id == alice.pk and exchange.account_get == VALID_BTC

    # Where to pay: the amount, our account, and the QR code of it.
    assert page.locator("#pay-to").inner_text() == TRON_DEPOSIT
    assert page.locator("#pay-amount").inner_text() == "5000"
    assert page.locator("#pay-qr svg").count() == 1
    shoot(page, "journey-status-new")

    # The same page on a phone: fits 375 px, the destination still readable.
    phone = browser.new_context(base_url=live_server.url, user_agent=PHONE,
                                viewport={"width": 375, "height": 740}, is_mobile=True)
    phone_page = phone.new_page()
    phone_page.goto(page.url)
    assert phone_page.locator("#pay-to").is_visible() and fits(phone_page)
    shoot(phone_page, "journey-status-new")
    phone_page.goto("/exchange/?cur_from=USDTTRC20&cur_to=BTC")
    assert fits(phone_page)
    shoot(phone_page, "journey-exchange-form")

    page.click("#mark-paid button[type=submit]")
    page.wait_for_selector(".status-paid")
    exchange.refresh_from_db()
    assert exchange.status == ExchangeStatus.PAID
    shoot(page, "journey-status-paid")
    phone_page.goto(page.url)
    shoot(phone_page, "journey-status-paid")
    phone.close()

    # The operator confirms the money arrived: success, through the admin's action.
    admin = desktop_page(browser, base_url=live_server.url)
    log_in(admin, "/admin/login/", carol.get_username())
    admin.goto("/admin/exchange/exchange/")
    admin.check(f"input[name=_selected_action][value='{exchange.pk}']")
    admin.select_option("select[name=action]", "set_status_success")
    admin.click("button[name=index]")
    # The action asks first, with the payout's transaction id.
    admin.fill("#set-status input[name=txid]", "payout-tx-1")
    admin.click("#set-status input[type=submit]")
    admin.wait_for_selector(".messagelist")
    exchange.refresh_from_db()
    assert exchange.status == ExchangeStatus.SUCCESS and exchange.reward_accrued
    # 5000 USDT (1 USD each) at 2% profit is 100 USD of profit; alice's level pays 20% of it.
    assert exchange.partner_reward == Decimal(20)

    # The partner sees the reward and asks for it.
    partner = desktop_page(browser, base_url=live_server.url)
    log_in(partner, "/cabinet/login/", alice.user.get_username())
    partner.goto("/cabinet/exchanges/")
    assert "20" in partner.locator("table").inner_text()
    # Its wallet saved long enough ago (cooling-off: ops/tests/test_trust_walk_browser.py).
    usable_wallet(alice, PayoutMethod.objects.get().pk, "TXYZpartnerWallet")
    partner.goto("/cabinet/payouts/")
    assert partner.locator("#balance").inner_text().startswith("20")
    partner.fill("form:not(#wallet-form) input[name=account]", "TXYZpartnerWallet")
    partner.click("text=Request payout of the whole balance")
    partner.wait_for_load_state()
    payout = Payout.objects.get()
    assert payout.partner_id == alice.pk and payout.status == PayoutStatus.PENDING

    # The operator pays it and records the transaction id.
    admin.goto("/admin/rewards/payout/")
    admin.check(f"input[name=_selected_action][value='{payout.pk}']")
    admin.select_option("select[name=action]", "mark_paid")
    admin.fill("input[name=transaction_id]", "0xfeedbeef42")
    admin.click("button[name=index]")
    admin.wait_for_selector(".messagelist")
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PAID and payout.transaction_id == "0xfeedbeef42"

    partner.goto("/cabinet/payouts/")
    assert partner.locator(".payout-tx").inner_text() == "0xfeedbeef42"
    shoot(partner, "journey-partner-payouts")
    for each in (page, admin, partner):
        each.context.close()
