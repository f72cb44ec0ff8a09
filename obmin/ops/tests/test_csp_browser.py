"""Chromium runs every page under the Content-Security-Policy without one violation.

The operator's whole admin (every model's list, add and change pages on the demo data) and
every other page without a parameter in the URLconf (so a new page is walked too) as a
visitor, as a partner and as the operator, each loaded in Chromium with the policy enforced: a
blocked script or style would be a `securitypolicyviolation` event and a console error.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import URLResolver, get_resolver, reverse

from obmin.testing.browser import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline")
                              + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""


def log_in(page, live_server, user) -> None:
    page.context.add_cookies([session_cookie(live_server.url, user)])


def plain_paths(resolver=None, prefix: str = "") -> list[str]:
    """Every path of the URLconf without a parameter, the admin's aside (walked below)."""
    paths = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = str(entry.pattern)
        if "<" in route or "(" in route or route.startswith("^"):
            continue
        if isinstance(entry, URLResolver):
            if entry.namespace != "admin":
                paths += plain_paths(entry, prefix + route)
        else:
            paths.append("/" + prefix + route)
    return paths


def html_pages(user) -> list[str]:
    """The plain paths that answer this user (None: anonymous) an HTML page."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return [path for path in plain_paths()
            if (r := client.get(path)).status_code == 200 and "html" in r["Content-Type"]]


def admin_urls(operator) -> list[str]:
    request = RequestFactory().get("/admin/")
    request.user = operator
    urls = ["/admin/"]
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        name = f"admin:{meta.app_label}_{meta.model_name}"
        urls.append(reverse(f"{name}_changelist"))
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"{name}_add"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"{name}_change", args=[first.pk]))
    return urls


def visit_all(page, urls: list[str]) -> dict[str, list[str]]:
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text)
            if "Content Security Policy" in m.text else None)
    found = {}
    for url in urls:
        console.clear()
        response = page.goto(url)  # waits for the load event
        assert response is not None and response.status < 500, url
        violations = page.evaluate("window.__cspViolations") + console
        if violations:
            found[url] = violations
    return found


def test_admin_cabinet_and_public_pages_run_under_the_policy(page, live_server):
    call_command("demo", "--no-serve")
    page.context.add_init_script(WATCH)
    users = get_user_model().objects
    public = html_pages(None)
    assert {"/", "/exchange/", "/partners/api/", "/cabinet/login/"} <= set(public)
    assert visit_all(page, public) == {}

    alice = users.get(email="alice@example.com")
    cabinet = html_pages(alice)
    assert {"/cabinet/", "/cabinet/payouts/", "/cabinet/api/"} <= set(cabinet)
    log_in(page, live_server, alice)
    assert visit_all(page, cabinet) == {}
    # The dashboard's chart (Chart.js from our static files, started by a nonced script) drew.
    page.goto("/cabinet/")
    assert page.evaluate("!!Chart.getChart(document.getElementById('daily-chart'))")

    operator = users.get(username="admin")
    log_in(page, live_server, operator)
    urls = admin_urls(operator) + [p for p in html_pages(operator) if p not in public]
    assert len(urls) > 20
    assert visit_all(page, urls) == {}


def test_the_language_menu_still_switches_without_an_inline_handler(page, live_server):
    page.add_init_script(WATCH)
    page.goto("/")
    with page.expect_navigation():
        page.select_option("form.lang select", "uk")
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.lang") == "uk"
    assert page.evaluate("window.__cspViolations") == []
    # The watcher does see a violation: an inline script without the nonce is blocked.
    page.evaluate("""() => { const b = document.createElement("button");
                             b.setAttribute("onclick", "window.ran = 1"); b.id = "bad";
                             document.body.append(b); }""")
    page.click("#bad")
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.ran") is None
    assert "script-src-attr" in page.evaluate("window.__cspViolations")[0]
