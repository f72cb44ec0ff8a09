"""The operator on a 1280 px screen: the busiest back-office lists need no sideways scrolling
and show every editable rate and reserve whole; and the staff pages and the admin's index on a
375 px phone."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from obmin.exchange.models import Direction, Exchange
from obmin.testing.browser import broken_words, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTS = ["partners/click", "exchange/exchange", "exchange/direction", "rewards/payout",
         "rewards/ledgerentry", "partners/partner"]
# The editable decimals (rates, reserves) whose value does not fit their box: "3924066." for
# 3924066.39 is a wrong rate read.
CLIPPED_DECIMALS = """() => Array.from(document.querySelectorAll("input.plain-decimal"))
  .filter(input => input.scrollWidth > input.clientWidth)
  .map(input => input.name + "=" + input.value)"""


def test_admin_lists_fit_1280_px(page, carol, live_server, tmp_path):
    call_command("demo", "--no-serve")
    page.context.add_cookies([session_cookie(live_server.url, carol)])
    page.set_viewport_size({"width": 1280, "height": 900})
    for name in LISTS:
        page.goto(f"/admin/{name}/")
        page.screenshot(path=str(tmp_path / f"{name.replace('/', '-')}-1280.png"))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1280, f"{name} is {width} px wide"
        # The admin scrolls a wide table inside its own box: that must not happen either.
        inner = page.evaluate("(() => { const r = document.querySelector('#changelist .results');"
                              " return r ? r.scrollWidth - r.clientWidth : 0; })()")
        assert inner <= 0, f"{name}'s table scrolls sideways by {inner} px"
    # Rates on the directions' list, reserves on the currencies', each whole in its box.
    first = Direction.objects.order_by("pk").first()
    assert first is not None
    for name in ["exchange/direction", "exchange/currency",
                 f"exchange/direction/{first.pk}/change"]:
        page.goto(f"/admin/{name}/")
        assert not page.evaluate(CLIPPED_DECIMALS), f"{name}: {page.evaluate(CLIPPED_DECIMALS)}"


def test_staff_pages_fit_a_phone(page, carol, live_server):
    """The desk's queue and exchange page, the overview, the admin's index (which leads to
    them) and its exchange page at 375 px: no sideways scrolling, no table cell narrower than
    its longest word."""
    call_command("demo", "--no-serve")
    waiting = Exchange.objects.filter(status__in=["paid", "received"]).first()
    assert waiting is not None  # the demo leaves some paid
    page.context.add_cookies([session_cookie(live_server.url, carol)])
    page.set_viewport_size({"width": 375, "height": 812})
    for path in ["/staff/desk/", f"/staff/desk/{waiting.pk}/", "/staff/overview/", "/admin/",
                 f"/admin/exchange/exchange/{waiting.pk}/change/"]:
        page.goto(path)
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 375, f"{path} is {width} px wide at 375 px"
        assert not broken_words(page), f"{path}: {broken_words(page)}"
    # The exchange list's "Set status: success" asks first: that page fits too.
    page.goto(f"/admin/exchange/exchange/?status__exact={waiting.status}")
    page.check(f"input[name=_selected_action][value='{waiting.pk}']")
    page.select_option("select[name=action]", "set_status_success")
    page.click("button[name=index]")
    page.wait_for_selector("#set-status")
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 375, f"the status confirmation is {width} px wide at 375 px"
