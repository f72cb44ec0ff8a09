"""The newcomer's path as real processes: `obmin demo --no-serve` into a directory that does
not exist yet, then `obmin serve` answering on its port with that data."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

OBMIN = str(Path(sys.executable).with_name("obmin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "not" / "yet" / "there"


def test_demo_then_serve(data_dir):
    env = {**os.environ, "OBMIN_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)  # the demo is SQLite, whatever the suite runs on
    env.pop("REDIS_URL", None)
    demo = subprocess.run([OBMIN, "demo", "--no-serve"], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert demo.returncode == 0, demo.stderr
    assert "Open http://127.0.0.1:8000/" in demo.stdout
    assert (data_dir / "obmin.sqlite3").exists()

    port = free_port()
    server = subprocess.Popen([OBMIN, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                live = httpx.get(base + "/health/live", timeout=2)
                break
            except httpx.HTTPError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "obmin serve did not answer"
                time.sleep(0.2)
        assert live.text == "ok"
        assert httpx.get(base + "/health/ready", timeout=5).status_code == 200
        home = httpx.get(base + "/", timeout=5)
        assert home.status_code == 200 and "PMUSD" in home.text
        css = httpx.get(base + "/static/obmin/site.css", timeout=5)
        assert css.status_code == 200  # static files are served in production too
        ref = httpx.get(base + "/ref/alice001/?cur_from=PMUSD&cur_to=BTC", timeout=5)
        assert ref.status_code == 302 and "cur_from=PMUSD" in ref.headers["location"]
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=15)


def test_serve_refuses_a_bad_bind(data_dir):
    env = {**os.environ, "OBMIN_DATA_DIR": str(data_dir)}
    result = subprocess.run([OBMIN, "serve", "--bind", "nonsense"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "HOST:PORT" in result.stderr
