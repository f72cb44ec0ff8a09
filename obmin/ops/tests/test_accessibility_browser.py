"""axe-core finds no serious or critical accessibility violation on any cabinet page (logged
in, on the demo's data, read from the cabinet's URL conf so a page added later is checked too,
with the blocked partner's banner, and two of them at 375 px), on the public pages (home, the
exchange form, an exchange's status page, login, sign-up and the pages sign-up and password
reset lead to, a refused login and a refused exchange form) and on the operator's overview.

axe-core comes from the npm registry at the version and integrity hash pinned in
`tools/package-lock.json`, installed by `npm ci` (scripts/test does it when npm exists), and is
injected into each page by Playwright in Debian's Chromium.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from obmin.cabinet.tests.test_phone_browser import cabinet_paths, html_pages
from obmin.exchange.models import Direction, Exchange
from obmin.exchange.services import exchange_create
from obmin.partner_api.services import apikey_create
from obmin.partners.models import Partner
from obmin.partners.services import signup_token_make
from obmin.rewards.models import PayoutMethod
from obmin.rewards.services import PayoutError
from obmin.testing.browser import desktop_page, session_cookie
from obmin.testing.factories import payout_to

TOOLS = Path(__file__).resolve().parent / "tools"
AXE = TOOLS / "node_modules" / "axe-core" / "axe.min.js"
# What axe reports at these levels keeps someone from using the page (WCAG A/AA failures such
# as unnamed controls, missing labels, too little contrast); moderate and minor are advice.
BLOCKING = ("serious", "critical")


def axe_script() -> Path:
    if not AXE.exists():
        # As for Chromium: a missing tool fails the run, so a green run always checked.
        if shutil.which("npm") is None:
            pytest.fail("npm is missing, so axe-core (obmin/ops/tests/tools) cannot be "
                        "installed: install Node.js and npm (scripts/test does, as root), "
                        "then run scripts/test")
        pytest.fail(f"axe-core is not installed: run `npm ci` in {TOOLS} (scripts/test does)")
    return AXE


def violations(page, path: str | None = None) -> list[str]:
    """The serious and critical violations axe finds on `path` (or on the page as it is), one
    line each."""
    if path is not None:
        page.goto(path)
    page.wait_for_load_state("load")
    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate("async () => JSON.stringify(await axe.run(document))")
    where = path or page.url
    found = []
    for violation in json.loads(result)["violations"]:
        if violation["impact"] in BLOCKING:
            targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
            found.append(f"{where}: {violation['id']} ({violation['impact']}): "
                         f"{violation['help']} at {targets}")
    return found


def test_axe_core_is_pinned_with_its_integrity_hash():
    """Exactly one version (no range) of the one tool, and npm ci checks its sha512."""
    wanted = json.loads((TOOLS / "package.json").read_text())["dependencies"]
    locked = json.loads((TOOLS / "package-lock.json").read_text())["packages"]
    assert list(wanted) == ["axe-core"] and re.fullmatch(r"\d+\.\d+\.\d+", wanted["axe-core"])
    axe = locked["node_modules/axe-core"]
    assert axe["version"] == wanted["axe-core"] and axe["integrity"].startswith("sha512-")
    assert set(locked) == {"", "node_modules/axe-core"}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_serious_or_critical_violation_on_cabinet_and_public_pages(browser, live_server):
    axe_script()
    call_command("demo", "--no-serve")
    partner = Partner.objects.select_related("user").get(user__email="monitor@example.com")
    # A monitor with a key and a requested payout: the pages show their fullest forms.
    Partner.objects.filter(pk=partner.pk).update(is_monitor=True)
    apikey_create(partner=partner, name="accounting script")
    for method in PayoutMethod.objects.filter(is_active=True):
        with contextlib.suppress(PayoutError):  # the demo monitor may have nothing to pay
            payout_to(partner=partner, method_id=method.pk, account="TXYZpartnerWallet")
    direction = Direction.objects.filter(is_active=True).select_related(
        "currency_give", "currency_get").first()
    assert direction is not None
    exchange = exchange_create(direction=direction, amount_give=direction.min_amount * 2,
                               email="buyer@example.org",
                               account_get="bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
                               user_hash="a11ya11ya11y", partner_id=None)
    assert isinstance(exchange, Exchange) and exchange.amount_give > Decimal(0)

    paths = cabinet_paths()
    client = Client()
    client.force_login(partner.user)
    cabinet = html_pages(client, paths)
    assert {"/cabinet/", "/cabinet/stats/", "/cabinet/links/", "/cabinet/account/"} <= set(cabinet)
    give, get = direction.currency_give.code, direction.currency_get.code
    cabinet += [f"/cabinet/links/?cur_from={give}&cur_to={get}&sub1=spring-mail",
                "/cabinet/stats/?period=30d&by=sub1"]
    anonymous = html_pages(Client(), paths)
    cabinet = [path for path in cabinet if path not in anonymous]
    public = ["/", "/exchange/", f"/exchange/{exchange.token}/", *anonymous,
              f"/cabinet/signup/confirm/{signup_token_make(email='new@example.com')}/"]
    assert {"/cabinet/login/", "/cabinet/signup/"} <= set(public)

    found: list[str] = []
    # axe's script is injected inline: the page's Content-Security-Policy is bypassed for it.
    page = desktop_page(browser, base_url=live_server.url, bypass_csp=True)
    page.set_default_timeout(20_000)  # axe runs over whole pages
    context = page.context
    # The check itself is shown to catch what it must: a field without a label.
    page.set_content("<!doctype html><html lang=en><title>t</title><main><input></main>")
    assert any(": label (critical):" in line for line in violations(page))
    for path in public:
        found += violations(page, path)
    # Refusals as a visitor sees them: a wrong password, an amount below the minimum.
    page.goto("/cabinet/login/")
    page.fill("input[name=username]", partner.user.email)
    page.fill("input[name=password]", "not-the-password")
    page.click("main [type=submit]")
    page.wait_for_selector(".errorlist")
    found += violations(page)
    page.goto(f"/exchange/?cur_from={give}&cur_to={get}")
    page.fill("input[name=amount_give]", str(direction.min_amount / 10))
    page.fill("input[name=email]", "buyer@example.org")
    page.fill("input[name=account_get]", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".errorlist")
    found += violations(page)

    # Logged in, blocked with a reason: the banner every cabinet page then shows is checked too.
    Partner.objects.filter(pk=partner.pk).update(
        is_blocked=True, block_reason="Traffic from one network")
    context.add_cookies([session_cookie(live_server.url, partner.user)])
    for path in cabinet:
        found += violations(page, path)
    page.set_viewport_size({"width": 375, "height": 812})
    found += violations(page, "/cabinet/")
    found += violations(page, "/cabinet/stats/")

    # The operator's overview of the program.
    page.set_viewport_size({"width": 1280, "height": 900})
    operator = get_user_model().objects.filter(is_staff=True).first()
    context.add_cookies([session_cookie(live_server.url, operator)])
    found += violations(page, "/staff/overview/")
    context.close()
    assert not found, "\n".join(found)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_serious_or_critical_violation_on_the_desk_and_the_customers_new_pages(
        browser, live_server):
    """Issue 29's pages: the desk's queue and exchange page (with an action open), the admin's
    index, exchange page and status confirmation, the look-up of lost exchanges, and a status
    page after "I have paid", at 1280 and 375 px."""
    axe_script()
    call_command("demo", "--no-serve")
    waiting = Exchange.objects.filter(status="paid").first()
    assert waiting is not None
    page = desktop_page(browser, base_url=live_server.url, bypass_csp=True)
    page.set_default_timeout(20_000)
    found: list[str] = []
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        found += violations(page, "/exchange/lookup/")
        found += violations(page, f"/exchange/{waiting.token}/")
    operator = get_user_model().objects.filter(is_staff=True).first()
    page.context.add_cookies([session_cookie(live_server.url, operator)])
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        found += violations(page, "/staff/desk/")
        page.goto(f"/staff/desk/{waiting.pk}/")
        page.click("#action-success summary")
        found += violations(page)
        found += violations(page, "/admin/")
        found += violations(page, f"/admin/exchange/exchange/{waiting.pk}/change/")
        # The exchange list's "Set status: success" asks first, with the payout's txid.
        page.goto("/admin/exchange/exchange/?status__exact=paid")
        page.check(f"input[name=_selected_action][value='{waiting.pk}']")
        page.select_option("select[name=action]", "set_status_success")
        page.click("button[name=index]")
        page.wait_for_selector("#set-status")
        found += violations(page)
    page.context.close()
    assert not found, "\n".join(found)
