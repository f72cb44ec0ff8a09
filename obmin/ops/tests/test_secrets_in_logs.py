"""No secret in any log: the development server, `obmin serve`, error reports and their e-mails.

The servers are real processes (`obmin runserver`, `obmin serve`) on a database of their own,
as verbose as they can be made (DEBUG, LOG_LEVEL=DEBUG); each is sent a key in the URL, in a
Bearer header, in API v1's API-KEY header and in a form body, a password and a token; then
everything it printed is searched for them.
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from django.core import mail
from django.test import RequestFactory
from django.views.debug import technical_500_response

from obmin.exchange.accounts import EXAMPLES

OBMIN = Path(sys.executable).with_name("obmin")
PASSWORD = "Hunter2-correct-horse"
TOKEN = "tok-5f2e9d41c0a7b3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A data directory with a migrated SQLite database, partner alice and her live key."""
    data = tmp_path_factory.mktemp("site")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(OBMIN_DATA_DIR=str(data), TASKS_BACKEND="immediate", LOG_LEVEL="DEBUG",
               PYTHONUNBUFFERED="1")

    def obmin(*args: str) -> str:
        done = subprocess.run([str(OBMIN), *args], env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    obmin("migrate", "--verbosity", "0")
    obmin("partner", "create", "alice@example.com", "--password", PASSWORD)
    lines = obmin("apikey", "create", "alice@example.com").splitlines()
    login = next(line.split()[1] for line in lines if line.startswith("login "))
    return {"env": env, "key": lines[-1], "login": login}


def send_secrets(url: str, key: str, login: str) -> None:
    api = url + "/service/partner/api.php"
    with httpx.Client(timeout=30) as http:
        assert http.get(api, params={"api_action": "pp", "api_key": key,
                                     "method": "get_info"}).json()["status"] == "success"
        http.get(url + "/no/such/page.php", params={"api_key": key, "token": TOKEN})
        http.get(api, params={"api_action": "pp", "method": "get_info"},
                 headers={"Authorization": f"Bearer {key}"})
        http.post(url + "/api/userapi/v1/get_info", headers={"API-LOGIN": login,
                                                             "API-KEY": key})
        http.post(api, data={"api_action": "pp", "api_key": key, "method": "get_links"})
        http.post(url + "/cabinet/login/", data={"username": "alice@example.com",
                                                 "password": PASSWORD})
        http.get(url + "/cabinet/login/", params={"password": PASSWORD, "token": TOKEN})
        # Issue 28.5: the key's parameter name in other spellings and encodings...
        for name in ("api%5Fkey", "API_KEY", "api%255Fkey", "%61pi_key"):
            http.get(f"{api}?api_action=pp&{name}={key}&method=get_info")
            http.get(f"{url}/no/such/page.php?{name}={quote(key)}")
        # ...the key's every byte percent-encoded, under its name and under any other...
        for name in ("api_key", "q"):
            http.get(f"{api}?api_action=pp&{name}={every_byte(key)}&method=get_info")
        # ...JSON bodies, tokens in paths (every one logged: a 404, a CSRF refusal)...
        http.post(api, json={"api_action": "pp", "api_key": key, "password": PASSWORD})
        for path in (f"/cabinet/password/reset/MQ/{TOKEN}/", f"/cabinet/signup/confirm/{TOKEN}/",
                     f"/cabinet/account/email/confirm/{TOKEN}/", f"/exchange/{TOKEN}/",
                     f"/exchange/{TOKEN}/status.json"):
            http.get(url + path)
        http.post(f"{url}/exchange/{TOKEN}/paid/")
        # ...and a Host outside ALLOWED_HOSTS (one line, no traceback: issue 28.6).
        http.get(f"{api}?api_action=pp&api_key={key}", headers={"Host": "evil.example"})


def run_server(site, tmp_path: Path, *command: str, env: dict[str, str] | None = None) -> str:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen([str(OBMIN), *command, f"127.0.0.1:{port}"],
                                  env={**site["env"], **(env or {})}, stdout=out,
                                  stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(url + "/health/live", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            send_secrets(url, site["key"], site["login"])
            time.sleep(0.5)  # the last access lines are written when the answer is closed
        finally:
            server.terminate()
            server.wait(timeout=30)
    return log.read_text()


def every_byte(secret: str) -> str:
    return "".join(f"%{byte:02X}" for byte in secret.encode())


def encodings(secret: str) -> set[str]:
    """The secret as it could appear in a line: as is, percent-encoded (once, twice, every
    byte), in JSON, and its distinctive middle."""
    return {secret, quote(secret, safe=""), quote(quote(secret, safe=""), safe=""),
            every_byte(secret), every_byte(secret).lower(), quote(every_byte(secret), safe=""),
            json.dumps(secret)[1:-1], secret[len(secret) // 3:2 * len(secret) // 3]}


def assert_no_secret(output: str, key: str) -> None:
    for secret in (key, PASSWORD, TOKEN):
        for form in encodings(secret):
            assert form not in output, f"{form!r} is in the log"


def test_development_server_logs_no_secret(site, tmp_path):
    output = run_server(site, tmp_path, "runserver", "--noreload",
                        env={"DEBUG": "1"})
    assert "/no/such/page.php" in output  # the requests were logged...
    assert "api_key=********" in output
    assert_no_secret(output, site["key"])  # ...without what they carried


def test_production_server_access_log_has_no_secret(site, tmp_path):
    output = run_server(site, tmp_path, "serve", "--workers", "1", "--bind")
    assert '"GET /service/partner/api.php?api_action=pp&api_key=********' in output
    assert '"POST /api/userapi/v1/get_info" 200' in output
    assert_no_secret(output, site["key"])


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    """The demo's data (directions to bid on), alice's live key; the worker sends e-mail."""
    data = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(OBMIN_DATA_DIR=str(data), LOG_LEVEL="DEBUG", PYTHONUNBUFFERED="1")
    for command in (("demo", "--no-serve"), ("apikey", "create", "alice@example.com")):
        done = subprocess.run([str(OBMIN), *command], env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    login = next(line.split()[1] for line in lines if line.startswith("login "))
    return {"env": env, "key": lines[-1], "login": login}


def test_server_and_worker_together_log_no_secret(demo_site, tmp_path):
    """Issue 28.5's log test over `obmin serve` with its `obmin worker` (the console e-mail
    backend, as a clone runs): besides the requests above, a password reset, a sign-up and an
    exchange whose e-mails carry tokens; nothing either process printed holds a key, the
    password, a token (the exchange's real one too), in any encoding."""
    site = demo_site
    env = site["env"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "both.log"
    with log.open("w") as out:
        processes = [subprocess.Popen([str(OBMIN), *command], env=env, stdout=out,
                                      stderr=subprocess.STDOUT)
                     for command in (("serve", "--workers", "1", "--bind", f"127.0.0.1:{port}"),
                                     ("worker",))]
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(url + "/health/live", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            send_secrets(url, site["key"], site["login"])
            exchange_token = _mail_tokens(url, site["key"], site["login"])
            subjects = ("Password reset", "Confirm your e-mail", "Exchange #")
            while not all(subject in log.read_text() for subject in subjects):
                assert time.monotonic() < deadline + 120, log.read_text()
                time.sleep(0.5)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
    output = log.read_text()
    assert "/cabinet/password/reset/********/********/" in output  # the e-mails were printed
    assert_no_secret(output, site["key"])
    for form in encodings(exchange_token):
        assert form not in output, f"the exchange's token {form!r} is in the log"


def _mail_tokens(url: str, key: str, login: str) -> str:
    """A password reset, a sign-up and an exchange (API v1): e-mails with tokens in them.
    Returns the exchange's token."""
    with httpx.Client(timeout=30) as http:
        for page, email in (("/cabinet/password/reset/", "alice@example.com"),
                            ("/cabinet/signup/", "newcomer@example.com")):
            http.get(url + page)
            sent = http.post(url + page, data={
                "email": email, "csrfmiddlewaretoken": http.cookies["csrftoken"]})
            assert sent.status_code == 302, sent.text[:300]
        headers = {"API-LOGIN": login, "API-KEY": key}
        directions = http.post(url + "/api/userapi/v1/get_directions", headers=headers).json()
        made = http.post(url + "/api/userapi/v1/create_bid", headers=headers, data={
            "direction_id": next(d["direction_id"] for d in directions["data"]
                                 if d["currency_get_title"] == "Bitcoin"),
            "calc_amount": "100", "cf6": "customer@example.org",
            "account2": EXAMPLES["bitcoin"]}).json()
        assert made["error"] == "0", made
        token = made["data"]["hash"]
        http.get(f"{url}/exchange/{token}/")
        http.get(f"{url}/exchange/{token}/status.json")
        http.get(f"{url}/api/userapi/v1/bid_info", params={"hash": token}, headers=headers)
    return token


# --- error reports: the 500 e-mail to ADMINS, the DEBUG page, the logged traceback -------------

KEY = "obm_live_Zx8KfQ2mT5vW9yB3nR7cD1hJ4"


def failing_request():
    request = RequestFactory().post(
        f"/service/partner/api.php?api_action=pp&api_key={KEY}&token={TOKEN}",
        data={"method": "get_info", "password": PASSWORD, "api_key": KEY},
        headers={"Authorization": f"Bearer {KEY}", "API-KEY": KEY, "API-LOGIN": "alice"})
    request.COOKIES["sessionid"] = TOKEN
    raw_key = KEY  # noqa: F841  (a frame variable the report would show)
    try:
        raise ValueError(f"could not check key {KEY}")
    except ValueError:
        return request, sys.exc_info()


def test_error_report_e_mail_hides_every_secret(settings):
    settings.ADMINS = [("Operator", "ops@example.com")]
    settings.DEBUG = False
    request, exc_info = failing_request()
    logging.getLogger("django.request").error(
        "Internal Server Error: %s", request.path, exc_info=exc_info,
        extra={"status_code": 500, "request": request})
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    text = message.subject + message.body
    assert "api_action" in text and "could not check key" in text  # the report is there
    assert_no_secret(text, KEY)
    assert "Zx8KfQ2" not in text


def test_error_report_html_hides_every_secret(settings):
    settings.DEBUG = True
    request, exc_info = failing_request()
    html = technical_500_response(request, *exc_info).content.decode()
    assert "api_action" in html and "HTTP_API_LOGIN" in html
    assert_no_secret(html, KEY)
    assert "Zx8KfQ2" not in html


def test_a_logged_traceback_is_scrubbed():
    handler = next(h for h in logging.getLogger().handlers
                   if any(type(f).__name__ == "ScrubSecretsFilter" for f in h.filters))
    stream = io.StringIO()
    old = handler.setStream(stream)
    try:
        _, exc_info = failing_request()
        logging.getLogger("obmin").error("key check failed", exc_info=exc_info)
    finally:
        handler.setStream(old)
    output = stream.getvalue()
    assert "ValueError: could not check key obm_live_********" in output
    assert KEY not in output


# --- e-mail printed to the console (no SMTP configured) ------------------------------------


def test_the_console_backend_prints_no_token_in_production(settings, capsys):
    """Issue 28.5: without SMTP, e-mails go to the worker's output; in production that output
    is a log, so the links' tokens are masked there (DEBUG shows them, for the demo)."""
    from django.core.mail import send_mail

    settings.EMAIL_BACKEND = "obmin.lib.mail.ConsoleBackend"
    link = f"https://obmin.example/cabinet/password/reset/MQ/{TOKEN}/"
    settings.DEBUG = False
    send_mail("Reset", f"Follow {link} to choose a password.", "from@example.com",
              ["alice@example.com"])
    printed = capsys.readouterr().out
    assert "/cabinet/password/reset/" in printed and TOKEN not in printed
    settings.DEBUG = True
    send_mail("Reset", f"Follow {link}", "from@example.com", ["alice@example.com"])
    assert TOKEN in capsys.readouterr().out
