"""Access lines: one per request from `obmin serve`, none holding a secret; the development
server's lines scrubbed too. Both as real processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

OBMIN = str(Path(sys.executable).with_name("obmin"))
SECRET_KEY = "obm_live_" + "S3cr3tKeyThatMustNeverBeLogged1234567890ab"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def env(tmp_path):
    env = {**os.environ, "OBMIN_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    subprocess.run([OBMIN, "migrate", "-v0"], env=env, check=True, timeout=180)
    return env


def requests_with_secrets(base: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(base + "/health/live", timeout=2)
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.2)
    httpx.get(base + "/service/partner/api.php",
              params={"api_action": "pp", "method": "get_info", "api_key": SECRET_KEY})
    httpx.get(base + "/no/such/page", params={"api_key": SECRET_KEY, "password": "hunter2x"})
    httpx.post(base + "/service/partner/api.php", data={"api_key": SECRET_KEY},
               headers={"Authorization": f"Bearer {SECRET_KEY}"})


def run_server(args: list[str], env: dict[str, str]) -> tuple[str, str]:
    port = free_port()
    server = subprocess.Popen([OBMIN, *args, f"127.0.0.1:{port}"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        requests_with_secrets(f"http://127.0.0.1:{port}")
        time.sleep(0.5)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        out, err = server.communicate(timeout=20)
    return out, err


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_serve_logs_each_request_without_secrets(env, log_format):
    env["LOG_FORMAT"] = log_format
    out, err = run_server(["serve", "--workers", "1", "--bind"], env)
    lines = [line for line in out.splitlines() if "api.php" in line or "/no/such/page" in line]
    assert len(lines) == 3, out
    assert SECRET_KEY not in out + err and "hunter2x" not in out + err
    assert SECRET_KEY[9:30] not in out + err
    if log_format == "json":
        entries = [json.loads(line) for line in lines]
        assert [(e["method"], e["status"]) for e in entries] == [
            ("GET", 200), ("GET", 404), ("POST", 200)]
        assert entries[0]["path"].startswith("/service/partner/api.php?")
        assert "api_key=********" in entries[0]["path"]
        assert entries[0]["size"] > 0 and entries[0]["duration_ms"] >= 0
    else:
        assert '"GET /no/such/page?api_key=********&password=********" 404 ' in lines[1]


def test_the_development_server_logs_no_secret(env):
    out, err = run_server(["runserver", "--noreload", "--insecure"], env)
    assert "/no/such/page" in out + err  # it did log the requests...
    assert SECRET_KEY not in out + err and "hunter2x" not in out + err  # ...scrubbed
