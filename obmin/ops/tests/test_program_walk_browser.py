"""Issue 26's walk in Debian's Chromium against `obmin demo --bind 127.0.0.1:<free port>` (its
server and its worker, real processes, SITE_URL not given): a visitor opens the home page,
follows the partner program link, reads the earnings, signs up; the e-mail leaves through the
worker, either to a real SMTP server the test runs (aiosmtpd) or into EMAIL_FILE_PATH; its link
sets the password; the dashboard's partnership link, the link builder's link and QR code and
the docs' curl lines all name the address the server was started on.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue

import httpx
import pytest
import segno
from aiosmtpd.controller import Controller

from obmin.testing.browser import desktop_page, shoot

pytestmark = pytest.mark.browser

OBMIN = str(Path(sys.executable).with_name("obmin"))
EMAIL = "erin@example.org"
PASSWORD = "walk-program-password-83"
URL = re.compile(r"https?://\S+")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """aiosmtpd's handler: every message the server accepts, for the test to wait on."""

    def __init__(self) -> None:
        self.messages: Queue[email.message.Message] = Queue()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.put(email.message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory) -> Path:
    """The demo's database, loaded once (`obmin demo --no-serve`); each walk serves a copy."""
    data = tmp_path_factory.mktemp("demo-data")
    result = subprocess.run([OBMIN, "demo", "--no-serve"], env=_env(data), capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return data


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SITE_URL") and not k.startswith("EMAIL_")}
    return {**env, "OBMIN_DATA_DIR": str(data), **extra}


def _serve_demo(data: Path, **mail: str) -> Iterator[str]:
    port = free_port()
    demo = subprocess.Popen([OBMIN, "demo", "--bind", f"127.0.0.1:{port}"],
                            env=_env(data, **mail), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(base + "/health/live", timeout=2)
                break
            except httpx.HTTPError:
                assert demo.poll() is None, demo.stderr.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "obmin demo did not answer"
                time.sleep(0.3)
        yield base
    finally:
        os.killpg(demo.pid, 15)  # the server and the worker it started
        demo.wait(timeout=30)


@pytest.fixture
def smtp_walk(demo_data, tmp_path) -> Iterator[tuple[str, object]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    try:
        yield from ((base, lambda: _smtp_message(inbox)) for base in _serve_demo(
            data, EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port), EMAIL_TIMEOUT="10"))
    finally:
        controller.stop()


@pytest.fixture
def file_walk(demo_data, tmp_path) -> Iterator[tuple[str, object]]:
    outbox = tmp_path / "outbox"  # not made beforehand: the backend makes it
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    yield from ((base, lambda: _file_message(outbox)) for base in _serve_demo(
        data, EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(outbox)))


def _smtp_message(inbox: Inbox) -> email.message.Message:
    try:
        return inbox.messages.get(timeout=60)
    except Empty:
        pytest.fail("no e-mail reached the SMTP server within 60 s")


def _file_message(outbox: Path) -> email.message.Message:
    deadline = time.monotonic() + 60
    while not (outbox.is_dir() and any(outbox.iterdir())):
        assert time.monotonic() < deadline, "no e-mail was written to EMAIL_FILE_PATH in 60 s"
        time.sleep(0.2)
    time.sleep(0.2)  # the file is written in one go; let it be closed
    [path] = outbox.iterdir()
    # The file backend writes the message, then a line of dashes.
    return email.message_from_bytes(path.read_bytes().rsplit(b"\n" + b"-" * 79, 1)[0])


def _body(message: email.message.Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


@pytest.mark.parametrize("walk", ["smtp_walk", "file_walk"])
def test_visitor_finds_the_program_signs_up_by_mail_and_every_link_names_the_server(
        browser, request, walk):
    base, next_message = request.getfixturevalue(walk)
    page = desktop_page(browser, base_url=base)

    # The home page invites partners; the program page tells the live rules in words.
    page.goto("/")
    page.click("#home-program a")
    page.wait_for_url(f"{base}/partners/")
    earnings = page.locator("#earnings").inner_text()
    # The demo's levels (obmin/rewards/demo.py) and its minimum payout, from the database.
    for words in ("From the start: 20%", "10000 USD: 30%", "50000 USD: 35%",
                  "reaches 10 USD"):
        assert words in earnings, earnings
    assert "USDT TRC20" in page.locator("#payouts").inner_text()
    assert f"{base}/ref/" in page.locator("#monitors").inner_text()
    assert page.locator("header #nav-program").count() == 1
    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    shoot(page, "program")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Sign-up from the program page; the e-mail's link sets the password.
    page.click("#program-signup")
    page.fill("input[name=email]", EMAIL)
    page.click("main [type=submit]")
    page.wait_for_url("**/cabinet/signup/sent/")
    message = next_message()
    assert message["To"] == EMAIL
    [link] = URL.findall(_body(message))
    assert link.startswith(f"{base}/cabinet/signup/confirm/")
    page.goto(link)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("main [type=submit]")
    page.wait_for_url(f"{base}/cabinet/")

    # Every absolute address the cabinet gives names the server the demo was started on.
    partnership = page.locator("#partnership-link").inner_text()
    assert re.fullmatch(re.escape(base) + r"/ref/[a-z0-9]{8}/", partnership), partnership
    page.goto("/cabinet/links/")
    page.select_option("select[name=cur_from]", "PMUSD")
    page.select_option("select[name=cur_to]", "BTC")
    page.click("#link-form [type=submit]")
    built = page.locator("#built-link").inner_text()
    assert built == f"{partnership}?cur_from=PMUSD&cur_to=BTC"
    # The QR code on the page is the code of that link (segno draws the same paths for it).
    qr = page.locator(".qr svg path").first.get_attribute("d")
    expected = segno.make(built, error="m").svg_inline(scale=4)
    assert qr and f'd="{qr}"' in expected
    page.goto("/partners/api/")
    curls = page.locator("pre.curl").all_inner_texts()
    assert curls and all(base + "/" in curl for curl in curls)
    assert "127.0.0.1:8000" not in page.content() or base.endswith(":8000")
    page.context.close()

