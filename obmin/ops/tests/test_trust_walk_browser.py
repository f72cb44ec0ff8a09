"""Issue 32's walk in Debian's Chromium: a partner turns on two-factor sign-in (the test reads
the key on the page and computes the app's codes), signs out and in again with its password and
a code, saves a payout wallet (a fresh code is asked first; the e-mail arrives at once, the
wallet waits out its cooling-off), asks for a payout above the four-eyes amount; one operator
approves it, a second marks it paid (the first may not); the audit trail shows every step with
its actor."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from obmin.exchange.accounts import EXAMPLES, AccountFormat
from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.rewards.models import Payout, PayoutMethod, PayoutStatus, RewardOverride
from obmin.testing.browser import desktop_page, shoot
from obmin.testing.factories import (
    PASSWORD,
    DirectionFactory,
    PartnerFactory,
    UserFactory,
)
from obmin.twofactor.tests.test_sign_in import app_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WALLET = EXAMPLES[AccountFormat.TRON]
VALID_BTC = EXAMPLES[AccountFormat.BITCOIN]


def log_in(page, path: str, username: str) -> None:
    page.goto(path)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[type=submit]")
    page.wait_for_load_state()


def run_action(page, payout_id: int, action: str, **fields: str) -> None:
    page.goto("/admin/rewards/payout/")
    page.check(f"input[name=_selected_action][value='{payout_id}']")
    page.select_option("select[name=action]", action)
    for name, value in fields.items():
        page.fill(f"input[name={name}]", value)
    page.click("button[name=index]")
    page.wait_for_load_state()


@pytest.fixture
def partner(program, usdt, btc):
    program.four_eyes_amount = Decimal(40)
    program.wallet_cooling_hours = 24
    program.save()
    PayoutMethod.objects.create(title="USDT TRC20", currency_code="USDT",
                                account_format=AccountFormat.TRON)
    dana = PartnerFactory(user=UserFactory(email="dana@example.org"))
    RewardOverride.objects.create(partner=dana, kind="fixed", value=Decimal(50))
    direction = DirectionFactory(currency_give=usdt, currency_get=btc, rate_give=Decimal(100000),
                                 rate_get=Decimal(1), min_amount=Decimal(10),
                                 max_amount=Decimal(10000), profit_percent=Decimal(2))
    exchange = exchange_create(direction=direction, amount_give=Decimal(1000),
                               email="customer@example.org", account_get=VALID_BTC,
                               partner_id=dana.pk)
    exchange_set_status(exchange_id=exchange.pk, status="success")
    return dana


def test_wallet_cooling_off_four_eyes_payout_and_the_audit_trail(
        browser, live_server, partner, time_machine, mailoutbox):
    carol = UserFactory(email="carol@example.com", is_staff=True, is_superuser=True)
    dan = UserFactory(email="dan@example.com", is_staff=True, is_superuser=True)
    time_machine.move_to(timezone.now(), tick=True)
    page = desktop_page(browser, base_url=live_server.url)
    log_in(page, "/cabinet/login/", "dana@example.org")

    # Two-factor sign-in: the key shown on the page goes into the "app" (computed here).
    page.goto("/cabinet/account/")
    page.click("#twofactor-manage")
    page.click("#twofactor-start")
    secret = page.locator("#totp-secret").inner_text()
    expect(page.locator("#totp-qr svg")).to_be_visible()
    page.fill("#totp-confirm input[name=code]", app_code(secret))
    page.click("#totp-confirm [type=submit]")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    shoot(page, "trust-recovery-codes")
    page.click("#codes-saved")
    expect(page.locator("#twofactor-state")).to_have_text("On")

    # Signed out, the password alone leads to the second step; the next code opens.
    page.click("nav.tabs button:has-text('Log out')")
    page.wait_for_load_state()
    log_in(page, "/cabinet/login/?next=/cabinet/payouts/", "dana@example.org")
    expect(page.locator("#second-step")).to_be_visible()
    page.goto("/cabinet/payouts/")
    expect(page.locator("#second-step")).to_be_visible()  # no way round it
    page.fill("#code-form input[name=code]", "000000" if app_code(secret, 1) != "000000"
              else "111111")
    page.click("#code-form [type=submit]")
    expect(page.locator("#code-form .errorlist")).to_contain_text("not right")
    time_machine.move_to(timezone.now() + timedelta(seconds=3), tick=True)  # the back-off
    page.fill("#code-form input[name=code]", app_code(secret, 1))
    page.click("#code-form [type=submit]")
    expect(page).to_have_url(f"{live_server.url}/cabinet/payouts/")

    # A wallet: a fresh code first (the sign-in's is older than TWOFACTOR_FRESH_MINUTES), then
    # checked, saved, e-mailed at once, usable only after the cooling-off.
    time_machine.move_to(timezone.now() + timedelta(minutes=11), tick=True)
    page.fill("#wallet-form input[name=account]", "T-not-a-wallet")
    page.click("text=Save wallet")
    expect(page.locator("#step-up")).to_be_visible()
    page.fill("#code-form input[name=code]", app_code(secret))
    page.click("#code-form [type=submit]")
    page.click("#resubmit-form [type=submit]")
    page.wait_for_selector("text=TRON address")
    page.fill("#wallet-form input[name=account]", WALLET)
    page.click("text=Save wallet")
    page.wait_for_selector("text=Wallet saved")
    [mail] = [m for m in mailoutbox if m.to == ["dana@example.org"]
              and "Payout wallet saved" in m.subject]
    assert WALLET in mail.body
    page.click("text=Request payout of the whole balance")
    page.wait_for_selector("text=cooling-off")
    assert not Payout.objects.exists()
    shoot(page, "trust-wallet-cooling-off")

    # A day later the wallet is usable: the whole balance, 50 USD, above the four-eyes 40.
    time_machine.move_to(timezone.now() + timedelta(hours=25), tick=True)
    page.goto("/cabinet/payouts/")
    page.click("text=Request payout of the whole balance")
    page.wait_for_selector("text=requested")
    payout = Payout.objects.get()
    assert (payout.account, payout.original_amount) == (WALLET, Decimal("50.00"))
    page.context.close()

    # Carol approves; she may not also mark it paid.
    admin = desktop_page(browser, base_url=live_server.url)
    log_in(admin, "/admin/login/", carol.username)
    run_action(admin, payout.pk, "mark_paid", transaction_id="0xfirst")
    admin.wait_for_selector("text=needs a staff member's approval")
    run_action(admin, payout.pk, "approve")
    admin.wait_for_selector("text=another staff member may mark them paid")
    run_action(admin, payout.pk, "mark_paid", transaction_id="0xfirst")
    admin.wait_for_selector("text=another staff member marks it paid")
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.PENDING
    admin.context.close()

    # Dan marks it paid.
    admin = desktop_page(browser, base_url=live_server.url)
    log_in(admin, "/admin/login/", dan.username)
    run_action(admin, payout.pk, "mark_paid", transaction_id="0xabc")
    admin.wait_for_selector("text=marked paid")
    payout.refresh_from_db()
    assert (payout.status, payout.approved_by, payout.transaction_id) == (
        PayoutStatus.PAID, f"admin:{carol.username}", "0xabc")

    # The audit trail names every step's actor.
    admin.goto("/admin/audit/auditentry/")
    rows = admin.locator("#result_list tbody tr").all_inner_texts()
    steps = [(action, actor) for action, actor in (
        ("two-factor sign-in turned on", "partner:dana@example.org"),
        ("wrong second-factor code", "partner:dana@example.org"),
        ("payout wallet added", "partner:dana@example.org"),
        ("payout requested", "partner:dana@example.org"),
        ("payout approved", f"staff:{carol.username}"),
        ("payout marked paid", f"staff:{dan.username}"))
        if not any(action in row and actor in row for row in rows)]
    assert steps == [], rows
    shoot(admin, "trust-audit-trail")
    admin.context.close()
