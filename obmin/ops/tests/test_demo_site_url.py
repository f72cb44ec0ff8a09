"""`obmin demo --bind HOST:PORT` makes SITE_URL the address a browser opens for it (the walk in
test_program_walk_browser.py shows every link naming it), and the site answers on that host."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from obmin.ops.management.commands.demo import demo_allowed_hosts, demo_site_url

OBMIN = str(Path(sys.executable).with_name("obmin"))
DEFAULT_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]


@pytest.mark.parametrize(("bind", "url"), [("127.0.0.1:18200", "http://127.0.0.1:18200"),
                                           ("0.0.0.0:8000", "http://127.0.0.1:8000"),
                                           ("localhost:9000", "http://localhost:9000")])
def test_demo_site_url(bind, url):
    assert demo_site_url(bind) == url


def test_demo_allows_the_host_it_serves_and_links_to():
    assert demo_allowed_hosts(DEFAULT_HOSTS, "http://127.0.0.1:8000") == DEFAULT_HOSTS
    assert demo_allowed_hosts(DEFAULT_HOSTS, "http://192.0.2.10:8000") == [
        *DEFAULT_HOSTS, "192.0.2.10"]
    assert demo_allowed_hosts(DEFAULT_HOSTS, "http://Demo.Example:8000") == [
        *DEFAULT_HOSTS, "demo.example"]
    assert demo_allowed_hosts(DEFAULT_HOSTS, "http://[::1]:8000") == DEFAULT_HOSTS
    assert demo_allowed_hosts(DEFAULT_HOSTS, "http://[2001:db8::1]:8000") == [
        *DEFAULT_HOSTS, "[2001:db8::1]"]


def test_demo_answers_on_another_loopback_address(tmp_path):
    """Bound to 127.0.0.2 (not among the default ALLOWED_HOSTS), the demo answers there and
    its links name it; before, Django refused every request with 400 (DisallowedHost)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.2", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.2:{port}"
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SITE_URL", "ALLOWED_HOSTS")}
    demo = subprocess.Popen([OBMIN, "demo", "--bind", f"127.0.0.2:{port}"],
                            env={**env, "OBMIN_DATA_DIR": str(tmp_path)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                httpx.get(base + "/health/live", timeout=2)
                break
            except httpx.HTTPError:
                assert demo.poll() is None, demo.stderr.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "obmin demo did not answer"
                time.sleep(0.3)
        page = httpx.get(base + "/partners/", timeout=10)
        assert page.status_code == 200
        assert f"{base}/ref/YOUR_CODE/" in page.text
    finally:
        os.killpg(demo.pid, signal.SIGTERM)  # the server and the worker it started
        demo.wait(timeout=30)
