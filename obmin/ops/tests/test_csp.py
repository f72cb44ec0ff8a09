"""The Content-Security-Policy: sent on every page, and no template can slip an inline script.

The policy itself is settings.CONTENT_SECURITY_POLICY (django-csp); the browser test beside
this file shows Chromium running every page under it without one violation.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]  # the obmin package

REQUIRED = ["default-src 'self'", "object-src 'none'", "base-uri 'none'",
            "frame-ancestors 'none'", "form-action 'self'", "script-src-attr 'none'"]

PAGES = ["/", "/exchange/", "/cabinet/login/", "/cabinet/signup/", "/partners/api/",
         "/admin/login/"]


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_every_page_sends_the_policy_and_its_scripts_carry_the_nonce(client: Client,
                                                                     url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    header = response["Content-Security-Policy"]
    for directive in REQUIRED:
        assert directive in header
    script_src = directives(header)["script-src"]
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert not [s for s in script_src if s.startswith(("http", "*"))]  # no CDN
    html = response.content.decode()
    nonces = {n for n in script_src if n.startswith("'nonce-")}
    for tag in re.findall(r"<script\b[^>]*>", html):
        if "src=" in tag or 'type="application/json"' in tag:
            continue
        nonce = re.search(r'nonce="([^"]+)"', tag)
        assert nonce and f"'nonce-{nonce.group(1)}'" in nonces, tag


@pytest.mark.django_db
def test_the_cabinet_and_admin_pages_send_it_too(client: Client, alice, carol) -> None:
    client.force_login(alice.user)
    assert "frame-ancestors 'none'" in client.get("/cabinet/")["Content-Security-Policy"]
    client.force_login(carol)
    assert "frame-ancestors 'none'" in client.get("/admin/")["Content-Security-Policy"]


def test_report_only_mode_is_an_environment_switch() -> None:
    code = ("import django; django.setup();"
            "from django.test import Client;"
            "r = Client().get('/health/live');"
            "print(r.get('Content-Security-Policy'));"
            "print(r.get('Content-Security-Policy-Report-Only'))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "obmin.settings", "CSP_REPORT_ONLY": "1",
           "CSP_REPORT_URI": "/csp-reports/"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    enforced, report_only = result.stdout.splitlines()
    assert enforced == "None"
    assert "frame-ancestors 'none'" in report_only and "report-uri /csp-reports/" in report_only


# --- every template, so a later page cannot regress ------------------------------------------

EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I | re.S)
JAVASCRIPT_URL = re.compile(r"javascript:", re.I)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
NONCE = 'nonce="{{ request.csp_nonce }}"'


def templates() -> list[Path]:
    found = sorted(ROOT.glob("**/templates/**/*.html"))
    assert len(found) > 10
    return found


def template_problems(text: str) -> list[str]:
    problems = [f"inline event handler: {m.group(0)[-60:]!r}" for m in EVENT_HANDLER.finditer(text)]
    problems += ["javascript: URL" for _ in JAVASCRIPT_URL.finditer(text)]
    for match in SCRIPT_TAG.finditer(text):
        attributes = match.group(1)
        if "src=" in attributes or NONCE in attributes:
            continue
        problems.append(f"inline <script> without {NONCE}: {match.group(0)!r}")
    return problems


def test_no_template_has_an_inline_handler_a_javascript_url_or_an_unnonced_script() -> None:
    found = {str(path.relative_to(ROOT)): template_problems(path.read_text())
             for path in templates()}
    assert {name: problems for name, problems in found.items() if problems} == {}


@pytest.mark.parametrize("bad", [
    '<button onclick="pay()">', "<a href='javascript:alert(1)'>", "<body\n  onload=x()>",
    "<script>alert(1)</script>", '<script type="module">x()</script>',
])
def test_the_scan_catches_what_the_policy_would_block(bad: str) -> None:
    assert template_problems(bad)


@pytest.mark.parametrize("good", [
    '<script src="{% static \'obmin/site.js\' %}" defer></script>',
    f"<script {NONCE}>x()</script>", '<button class="online">', "<p>Go on = fine</p>",
])
def test_the_scan_lets_allowed_scripts_through(good: str) -> None:
    assert template_problems(good) == []
