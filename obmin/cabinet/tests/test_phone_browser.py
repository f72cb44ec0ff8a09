"""A partner on a 375 px phone: every cabinet page, and the pages before login, fit the screen
without sideways scrolling of the page (tables scroll in their own box, long strings wrap),
and no table cell is narrower than its longest word.

The cabinet's pages are read from its URL conf, so a page added later is checked too."""

from __future__ import annotations

import contextlib

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern

from obmin.cabinet import urls as cabinet_urls
from obmin.partner_api.services import apikey_create
from obmin.partners.models import Partner
from obmin.partners.services import signup_token_make
from obmin.rewards.models import PayoutMethod
from obmin.rewards.services import PayoutError
from obmin.testing.browser import broken_words
from obmin.testing.factories import payout_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}
# Long strings without spaces: the kind that push a page wider.
ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdqbc1qar0srrr7xfkvy5l643lydnw9re59"
SUB = "campaign-" + "x" * 50
DEMO_PASSWORD = "demo-partner-2026"


def cabinet_paths() -> list[str]:
    """Every cabinet URL without parameters."""
    return sorted("/cabinet/" + str(entry.pattern) for entry in cabinet_urls.urlpatterns
                  if isinstance(entry, URLPattern) and not entry.pattern.converters)


def html_pages(client: Client, paths: list[str]) -> list[str]:
    """The paths that answer a GET with an HTML page (not POST-only actions or downloads)."""
    pages = []
    for path in paths:
        response = client.get(path)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            pages.append(path)
    return pages


def assert_fits(page, path: str, shots) -> None:
    page.goto(path)
    page.wait_for_load_state("load")
    name = path.split("?")[0].strip("/").replace("/", "_")[:60] or "root"
    # The whole page for the cabinet's; the first screen of the long API docs page (a full
    # screenshot of it takes longer than the width check is worth).
    page.screenshot(path=str(shots / f"{name}{'-query' if '?' in path else ''}-375.png"),
                    full_page=path.startswith("/cabinet/"), timeout=30_000)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{path} is {width} px wide at 375 px"
    # Tables scroll in their own box or become cards; a cell never breaks a word.
    assert not broken_words(page), f"{path}: {broken_words(page)}"


def test_every_cabinet_page_fits_a_phone(page, tmp_path, live_server):
    call_command("demo", "--no-serve")
    partner = Partner.objects.select_related("user").get(user__email="monitor@example.com")
    # The longest things a page can hold: export links (monitor), a block reason, a key, a
    # payout to a long address, a built link with long sub-IDs.
    Partner.objects.filter(pk=partner.pk).update(
        is_monitor=True, is_blocked=True,
        block_reason="Traffic-from-one-network-" + "x" * 60)
    apikey_create(partner=partner, name="accounting-script-" + "y" * 60)
    for method in PayoutMethod.objects.filter(is_active=True):
        with contextlib.suppress(PayoutError):  # the demo monitor may have nothing to pay
            payout_to(partner=partner, method_id=method.pk, account=ADDRESS)

    client = Client()
    client.force_login(partner.user)
    paths = cabinet_paths()
    pages = html_pages(client, paths)
    assert {"/cabinet/", "/cabinet/links/", "/cabinet/account/",
            "/cabinet/account/password/"} <= set(pages)
    pages.append(f"/cabinet/links/?cur_from=PMUSD&cur_to=BTC&sub1={SUB}&sub2={SUB}")
    pages.append("/partners/api/")

    page.set_viewport_size(PHONE)
    # Before login: login, sign-up, the pages sign-up and reset lead to.
    anonymous = html_pages(Client(), paths)
    assert {"/cabinet/login/", "/cabinet/signup/", "/cabinet/password/reset/"} <= set(anonymous)
    token = signup_token_make(email="a-rather-long-address-for-a-phone@example.com")
    for path in [*anonymous, f"/cabinet/signup/confirm/{token}/"]:
        assert_fits(page, path, tmp_path)

    page.goto("/cabinet/login/")
    page.fill("input[name=username]", partner.user.email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/cabinet/")
    for path in pages:
        assert_fits(page, path, tmp_path)
