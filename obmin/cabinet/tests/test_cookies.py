"""Every cookie the cabinet sets is HttpOnly and SameSite=Lax; SECURE_COOKIES makes them Secure."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from obmin.testing.factories import PASSWORD

pytestmark = pytest.mark.django_db

COOKIE_SETTINGS = ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "LANGUAGE_COOKIE_SECURE",
                   "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_HTTPONLY", "LANGUAGE_COOKIE_HTTPONLY",
                   "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE", "LANGUAGE_COOKIE_SAMESITE"]


def settings_with(env: dict[str, str]) -> dict[str, object]:
    """The cookie settings as a fresh process reads them from this environment."""
    code = ("import json, obmin.settings as s; "
            f"print(json.dumps({{n: getattr(s, n) for n in {COOKIE_SETTINGS!r}}}))")
    environ = {k: v for k, v in os.environ.items() if k != "SECURE_COOKIES"} | env
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def test_secure_cookies_switch_makes_every_cookie_secure():
    assert settings_with({"SECURE_COOKIES": "1"}) == {
        **dict.fromkeys(COOKIE_SETTINGS[:6], True), **dict.fromkeys(COOKIE_SETTINGS[6:], "Lax")}
    plain = settings_with({})
    assert [plain[name] for name in COOKIE_SETTINGS[:3]] == [False, False, False]


def test_login_cookies_are_httponly_and_lax(client, alice):
    alice.language = "uk"
    alice.save()
    client.get("/cabinet/login/")
    response = client.post("/cabinet/login/", {"username": "alice@example.com",
                                               "password": PASSWORD})
    cookies = {**client.cookies, **response.cookies}
    for name in ("sessionid", "csrftoken", "django_language"):
        morsel = cookies[name]
        assert morsel["httponly"] is True and morsel["samesite"] == "Lax", name
