"""The deployment kit in `deploy/`: the shipped nginx site passes `nginx -t`, forwards the
visitor's address and the request's id, serves static files itself and the app behind it; the
systemd units pass `systemd-analyze verify`. Real nginx, real `obmin serve`."""

from __future__ import annotations

import http.server
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from obmin.testing.deploy import (
    DEPLOY_DIR,
    NGINX_SITE,
    SYSTEMD_DIR,
    NginxSite,
    free_port,
    nginx_binary,
    unverified_tls,
)

OBMIN = str(Path(sys.executable).with_name("obmin"))
NGINX = nginx_binary()
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (scripts/test installs it with apt as root)")


def client(**kwargs: object) -> httpx.Client:
    return httpx.Client(verify=unverified_tls(), timeout=10, **kwargs)  # type: ignore[arg-type]


@needs_nginx
def test_the_shipped_site_passes_nginx_t(tmp_path):
    assert NGINX is not None
    site = NginxSite(NGINX, upstreams=["127.0.0.1:1", "127.0.0.1:2"], static_root=tmp_path)
    result = site.test()
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


class RecordingApp(http.server.BaseHTTPRequestHandler):
    """An upstream that writes down the headers nginx sent it."""

    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        RecordingApp.seen.append({**self.headers, "path": self.path})
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@needs_nginx
def test_nginx_forwards_the_visitors_address_and_one_request_id(tmp_path):
    assert NGINX is not None
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingApp)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    RecordingApp.seen = []
    try:
        with NginxSite(NGINX, upstreams=[f"127.0.0.1:{upstream.server_address[1]}"],
                       static_root=tmp_path) as site:
            # The visitor connects from 127.0.0.2 and claims another address itself.
            transport = httpx.HTTPTransport(local_address="127.0.0.2", verify=unverified_tls())
            with httpx.Client(transport=transport, timeout=10) as visitor:
                answer = visitor.get(site.url + "/ref/abc/?cur_from=PMUSD",
                                     headers={"X-Forwarded-For": "198.51.100.7",
                                              "Host": "obmin.example"})
            assert answer.status_code == 200
    finally:
        upstream.shutdown()
    [headers] = RecordingApp.seen
    assert headers["path"] == "/ref/abc/?cur_from=PMUSD"
    assert headers["X-Real-IP"] == "127.0.0.2"
    # Appended: the app believes the last address, the one nginx saw.
    assert headers["X-Forwarded-For"] == "198.51.100.7, 127.0.0.2"
    assert headers["X-Forwarded-Proto"] == "https"
    assert headers["Host"] == "obmin.example"
    assert len(headers["X-Request-ID"]) == 32
    assert headers["X-Request-Start"].startswith("t=")
    assert abs(float(headers["X-Request-Start"][2:]) - time.time()) < 60


@pytest.fixture
def served(tmp_path):
    """`obmin serve` (SQLite, one process) with a partner, behind the shipped site."""
    env = {**os.environ, "OBMIN_DATA_DIR": str(tmp_path / "data"), "BEHIND_PROXY": "1",
           "ALLOWED_HOSTS": "obmin.example,127.0.0.1"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_REPLICA_URL", None)
    subprocess.run([OBMIN, "migrate", "-v0"], env=env, check=True, timeout=180)
    code = subprocess.run([OBMIN, "partner", "create", "alice@example.com", "--password",
                           "correct horse 1"], env=env, check=True, timeout=60,
                          capture_output=True, text=True).stdout.split()[-1]
    port = free_port()
    server = subprocess.Popen([OBMIN, "serve", "--workers", "1", "--bind", f"127.0.0.1:{port}"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=2)
            break
        except httpx.HTTPError:
            assert server.poll() is None and time.monotonic() < deadline, "no obmin serve"
            time.sleep(0.2)
    try:
        yield port, code, tmp_path / "data"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


@needs_nginx
def test_the_app_behind_the_shipped_site(served, tmp_path):
    assert NGINX is not None
    port, code, data_dir = served
    dead = f"127.0.0.1:{free_port()}"  # a second app server that is down
    with NginxSite(NGINX, upstreams=[dead, f"127.0.0.1:{port}"],
                   static_root=data_dir / "static") as site, \
            client(headers={"Host": "obmin.example"}) as browser:
        # Plain HTTP moves to HTTPS, but the health probes stay on it.
        plain = f"http://127.0.0.1:{site.http_port}"
        moved = browser.get(plain + "/exchange/")
        assert moved.status_code == 301
        assert moved.headers["location"] == "https://obmin.example/exchange/"
        assert browser.get(plain + "/health/live").status_code == 200

        # Static files come from nginx (collected by obmin serve), gzipped as collected.
        css = browser.get(site.url + "/static/obmin/site.css", headers={"Accept-Encoding": "gzip"})
        assert css.status_code == 200 and css.headers["server"].startswith("nginx")
        assert css.headers.get("content-encoding") == "gzip"
        assert "max-age=3600" in css.headers["cache-control"]

        # Every /ref/ click reaches the live server: the dead one is skipped at once.
        for _ in range(6):
            ref = browser.get(site.url + f"/ref/{code}/?cur_from=PMUSD&cur_to=BTC")
            assert ref.status_code == 302, ref.text
        assert browser.get(site.url + "/health/ready").status_code == 200
    with sqlite3.connect(data_dir / "obmin.sqlite3") as db:
        [(stored,)] = db.execute("SELECT count(*) FROM partners_click").fetchall()
    assert stored == 6


@needs_nginx
def test_no_app_server_answers_the_short_page(tmp_path):
    assert NGINX is not None
    with NginxSite(NGINX, upstreams=[f"127.0.0.1:{free_port()}"], static_root=tmp_path) as site, \
            client() as browser:
        answer = browser.get(site.url + "/exchange/")
    assert answer.status_code == 502
    assert "Back in a moment" in answer.text and len(answer.content) < 1000


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (apt-get install systemd)")
def test_the_systemd_units_verify(tmp_path):
    # Instances of the templates, with ExecStart pointing at this install's obmin (verify
    # checks that the program exists).
    units = []
    for template, instance in (("obmin-serve@.service", "8001"),
                               ("obmin-worker@.service", "1")):
        text = (SYSTEMD_DIR / template).read_text()
        assert "ExecStart=/srv/obmin/.venv/bin/obmin " in text
        unit = tmp_path / template.replace("@.", f"@{instance}.")
        unit.write_text(text.replace("/srv/obmin/.venv/bin/obmin", OBMIN))
        units.append(str(unit))
    result = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True,
                            text=True, check=False, timeout=60)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_the_readme_installs_the_kit_as_shipped():
    """The README's production section names the kit's files as they are, and starts one app
    server per server of the shipped upstream."""
    readme = (DEPLOY_DIR.parent / "README.md").read_text()
    production = readme.split("## Production", 1)[1].split("\n## ", 1)[0]
    named = {path.rstrip(".,:;`)") for path in re.findall(r"deploy/[\w./@-]+", production)}
    assert "deploy/systemd/obmin-serve@.service" in named
    assert [path for path in named if not (DEPLOY_DIR.parent / path).exists()] == []
    upstream = re.findall(r"^\s*server 127\.0\.0\.1:(\d+)", NGINX_SITE.read_text(), re.M)
    install = production.split("systemctl enable --now ", 2)[2].split("\n", 1)[0]
    assert sorted(re.findall(r"obmin-serve@(\d+)", install)) == sorted(upstream)
    assert re.findall(r"obmin serve --bind (127\.0\.0\.1:\d+)", production)[0].split(":")[1] \
        in upstream
