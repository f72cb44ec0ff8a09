"""Issue 18's walk in Debian's Chromium, as a new partner and the operator would take it.

A partner signs up with only an e-mail, follows the link the e-mail brings and chooses a
password; builds a link with a sub-ID in the link builder and copies it with the page's copy
button; a visitor (a browser of its own) follows it and exchanges; the operator sets the
exchange successful in the admin; the partner sees the click, the exchange and the reward in
today's statistics (in the partner's own time zone) and in the sub-ID breakdown, downloads the
breakdown's CSV and finds the sub-ID's row; forgets the password and sets a new one through the
e-mailed link; asks for a payout, which the operator marks paid in bulk with another partner's
on the overview page.

The dashboard is kept as screenshots at 1280 and 375 px (`obmin.testing.browser.SCREENSHOTS`).
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from obmin.exchange.models import Exchange, ExchangeStatus
from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.partners.models import Click, Partner
from obmin.rewards.models import Payout, PayoutMethod, PayoutStatus
from obmin.testing.browser import desktop_page, shoot
from obmin.testing.factories import DirectionFactory, payout_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "dana@example.org"
PASSWORD = "walk-first-password-31"
NEW_PASSWORD = "walk-second-password-47"
OPERATOR_PASSWORD = "walk-operator-password-59"
SUB = "spring-mail"
VALID_BTC = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
URL = re.compile(r"https?://\S+")


def link_in(mailoutbox, to: str) -> str:
    """The link in the last e-mail sent to `to`."""
    [*_, mail] = [m for m in mailoutbox if m.to == [to]]
    [link] = URL.findall(mail.body)
    return link


def log_in(page, path: str, username: str, password: str) -> None:
    page.goto(path)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main [type=submit]")


@pytest.fixture
def walk(settings, live_server, program, carol, bob, usdt, btc):
    """USDT TRC20 → BTC, a payout method, the operator's password; bob has a pending payout of
    his own, so the operator's "mark paid" is a bulk one."""
    # Links the cabinet builds point at the server the visitor's browser can reach.
    settings.SITE_URL = live_server.url
    usdt.pay_to = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
    usdt.save()
    carol.set_password(OPERATOR_PASSWORD)
    carol.save()
    PayoutMethod.objects.create(title="USDT TRC20", currency_code="USDT")
    direction = DirectionFactory(currency_give=usdt, currency_get=btc, rate_give=Decimal(100000),
                                 rate_get=Decimal(1), min_amount=Decimal(10),
                                 max_amount=Decimal(10000), profit_percent=Decimal(2))
    bobs = exchange_create(direction=direction, amount_give=Decimal(3000),
                           email="bobs-customer@example.org", account_get=VALID_BTC,
                           partner_id=bob.pk)
    exchange_set_status(exchange_id=bobs.pk, status=ExchangeStatus.SUCCESS)
    # Wallets here are usable at once (their cooling-off is rewards/tests/test_wallets.py's).
    program.wallet_cooling_hours = 0
    program.save()
    return payout_to(partner=bob, method_id=PayoutMethod.objects.get().pk,
                     account="TBobsWallet")


def test_sign_up_link_click_exchange_statistics_csv_reset_and_bulk_payout(
        browser, live_server, walk, carol, mailoutbox):
    bobs_payout = walk
    # The partner's browser: clipboard readable (the copy button), a time zone not UTC's.
    page = desktop_page(browser, base_url=live_server.url, timezone_id="Europe/Kyiv",
                        permissions=["clipboard-read", "clipboard-write"],
                        accept_downloads=True)

    # Sign-up asks only the e-mail; the password is chosen on the page the e-mail's link opens.
    page.goto("/cabinet/signup/")
    page.fill("input[name=email]", EMAIL)
    page.click("main [type=submit]")
    page.wait_for_url("**/cabinet/signup/sent/")
    assert not Partner.objects.filter(user__email=EMAIL).exists()
    page.goto(link_in(mailoutbox, EMAIL))
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("main [type=submit]")
    page.wait_for_url("**/cabinet/")
    partner = Partner.objects.get(user__email=EMAIL)

    # The link builder: a direction and a sub-ID; the link is taken with the copy button.
    page.goto("/cabinet/links/")
    page.select_option("select[name=cur_from]", "USDTTRC20")
    page.select_option("select[name=cur_to]", "BTC")
    page.fill("input[name=sub1]", SUB)
    page.click("#link-form [type=submit]")
    page.wait_for_selector("#built-link")
    page.click("#built [data-copy=built-link]")
    page.wait_for_selector("#built .copied")
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == (f"{live_server.url}/ref/{partner.ref_code}/"
                    f"?cur_from=USDTTRC20&cur_to=BTC&sub1={SUB}")

    # A visitor follows it in a browser of its own and exchanges on the page it lands on.
    visitor = desktop_page(browser)
    visitor.goto(link)
    assert visitor.locator("select[name=cur_from]").input_value() == "USDTTRC20"
    assert visitor.locator("select[name=cur_to]").input_value() == "BTC"
    visitor.fill("input[name=amount_give]", "5000")
    visitor.fill("input[name=email]", "buyer@example.org")
    visitor.fill("input[name=account_get]", VALID_BTC)
    visitor.click("form button[type=submit]")
    visitor.wait_for_url("**/exchange/*/")
    click = Click.objects.get(partner=partner)
    exchange = Exchange.objects.get(partner=partner)
    assert click.sub1 == SUB and exchange.sub1 == SUB
    visitor.context.close()

    # The operator sets it successful with the admin's action.
    admin = desktop_page(browser, base_url=live_server.url)
    log_in(admin, "/admin/login/", carol.get_username(), OPERATOR_PASSWORD)
    admin.goto("/admin/exchange/exchange/")
    admin.check(f"input[name=_selected_action][value='{exchange.pk}']")
    admin.select_option("select[name=action]", "set_status_success")
    admin.click("button[name=index]")
    # The action asks first, with the payout's transaction id.
    admin.fill("#set-status input[name=txid]", "payout-tx-1")
    admin.click("#set-status input[type=submit]")
    admin.wait_for_selector(".messagelist")
    exchange.refresh_from_db()
    # 5000 USDT at 2% profit is 100 USD of profit; the program pays 20% of it.
    assert exchange.status == ExchangeStatus.SUCCESS and exchange.partner_reward == Decimal(20)

    # The partner's statistics of the last 7 days (today's would be empty if midnight in the
    # partner's zone fell since the click): the click, the exchange and the reward, in total
    # and on the sub-ID's row of the breakdown.
    page.goto("/cabinet/stats/?period=7d&by=sub1")
    assert page.locator("select[name=period]").input_value() == "7d"
    assert page.locator("#stat-clicks").inner_text() == "1"
    assert page.locator("#stat-exchanges").inner_text() == "1"
    assert page.locator("#stat-successful").inner_text() == "1"
    assert page.locator("#stat-turnover").inner_text() == "5000.00"
    assert page.locator("#stat-rewards").inner_text() == "20.00"
    row = page.locator("#breakdown-table tbody tr", has_text=SUB)
    assert [cell.strip() for cell in row.locator("td").all_inner_texts()][:8] == [
        SUB, "1", "1", "1", "1", "100.00%", "5000.00", "20.00"]
    with page.expect_download() as download_info:
        page.click("#breakdown-csv")
    download = download_info.value
    assert download.suggested_filename.startswith("statistics-sub1-")
    rows = list(csv.DictReader(io.StringIO(
        download.path().read_bytes().decode("utf-8-sig"))))
    [found] = [r for r in rows if r["sub1"] == SUB]
    assert (found["clicks"], found["successful_exchanges"], found["turnover_usd"],
            found["rewards_usd"]) == ("1", "1", "5000.00", "20.00")

    # The dashboard at a desktop's and a phone's width, kept for a reviewer.
    page.goto("/cabinet/")
    shoot(page, "walk-dashboard")
    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    shoot(page, "walk-dashboard")
    page.set_viewport_size({"width": 1280, "height": 900})

    # The whole balance asked for.
    page.goto("/cabinet/payouts/")
    assert page.locator("#balance").inner_text().startswith("20")
    page.fill("#wallet-form input[name=account]", "TDanasWallet")
    page.click("text=Save wallet")
    page.wait_for_selector("text=Wallet saved")
    page.click("text=Request payout of the whole balance")
    page.wait_for_load_state()
    payout = Payout.objects.get(partner=partner)
    assert payout.status == PayoutStatus.PENDING

    # A forgotten password: the reset link from the e-mail, a new password, logged in with it.
    page.click("nav.tabs button:has-text('Log out')")
    page.wait_for_url(f"{live_server.url}/")
    page.goto("/cabinet/password/reset/")
    page.fill("input[name=email]", EMAIL)
    page.click("main [type=submit]")
    page.wait_for_url("**/cabinet/password/reset/sent/")
    page.goto(link_in(mailoutbox, EMAIL))
    page.fill("input[name=new_password1]", NEW_PASSWORD)
    page.fill("input[name=new_password2]", NEW_PASSWORD)
    page.click("main [type=submit]")
    page.wait_for_url("**/cabinet/password/reset/done/")
    log_in(page, "/cabinet/login/", EMAIL, PASSWORD)
    # The old password no longer opens it (waited for: the form comes back at the same URL).
    expect(page.locator(".errorlist")).to_have_count(1)
    log_in(page, "/cabinet/login/", EMAIL, NEW_PASSWORD)
    page.wait_for_url("**/cabinet/")

    # The operator pays both pending payouts at once from the overview.
    admin.goto("/staff/overview/")
    for pending in (payout, bobs_payout):
        admin.check(f"#payout-{pending.pk}")
    admin.fill("#transaction-id", "0xbulk0042")
    admin.click("#mark-paid")
    admin.wait_for_selector(".messages")
    for pending in (payout, bobs_payout):
        pending.refresh_from_db()
        assert pending.status == PayoutStatus.PAID and pending.transaction_id == "0xbulk0042"
    assert admin.locator("#pending-payouts input[name=payout]").count() == 0
    admin.context.close()

    page.goto("/cabinet/payouts/")
    assert page.locator(".payout-tx").inner_text() == "0xbulk0042"
    page.context.close()
