"""A real streaming replica (pg_basebackup of a PostgreSQL cluster of the test's own): the
partner API's lists and the cabinet's tables and CSVs are read from it while it keeps up, from
the primary when it falls too far behind or dies, and /health/ready and /metrics say which.
`obmin serve` as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from obmin.partners.tests.conftest import CHROME
from obmin.testing.deploy import PostgresCluster, free_port, postgres_bin_dir

OBMIN = str(Path(sys.executable).with_name("obmin"))
PG_BIN = postgres_bin_dir()
MAX_LAG = 5

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                       reason="run in the PostgreSQL pass (it makes a cluster of its own)"),
    pytest.mark.skipif(PG_BIN is None, reason="PostgreSQL's server programs are not installed"),
    pytest.mark.skipif(sys.platform != "linux", reason="runs PostgreSQL clusters (Linux)"),
]


def obmin(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([OBMIN, *args], env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def wait_for(condition, *, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)
    return value


def test_heavy_reads_follow_the_replica_while_it_keeps_up(tmp_path):
    assert PG_BIN is not None
    with PostgresCluster(PG_BIN) as primary:
        primary.sql("CREATE DATABASE obmin")
        env = {**os.environ, "DATABASE_URL": primary.url("obmin"),
               "OBMIN_DATA_DIR": str(tmp_path), "DATABASE_REPLICA_MAX_LAG": str(MAX_LAG),
               "METRICS_TOKEN": METRICS_TOKEN}
        env.pop("REDIS_URL", None)
        env.pop("DATABASE_REPLICA_URL", None)
        obmin(env, "migrate", "-v0")
        code = obmin(env, "partner", "create", "alice@example.com", "--password",
                     "correct horse 1").split()[-1]
        created = obmin(env, "apikey", "create", "alice@example.com")
        key = created.split()[-1]
        login = next(line.split()[1] for line in created.splitlines()
                     if line.startswith("login "))
        with primary.replica() as replica:
            env["DATABASE_REPLICA_URL"] = replica.url("obmin")
            port = free_port()
            server = subprocess.Popen([OBMIN, "serve", "--workers", "1", "--bind",
                                       f"127.0.0.1:{port}"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
            base = f"http://127.0.0.1:{port}"
            try:
                wait_for(lambda: _answers(base), seconds=90, what="obmin serve answering")
                check_the_replica(base, code, (login, key), primary, replica)
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)


# /metrics answers only with its token (or METRICS_PUBLIC).
METRICS_TOKEN = "replica-test-metrics-token"


def _answers(base: str) -> bool:
    try:
        return httpx.get(base + "/health/live", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def links(base: str, key: str) -> int:
    answer = httpx.get(base + "/service/partner/api.php", timeout=30, params={
        "api_action": "pp", "method": "get_links", "start_time": "0"},
        headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "success", body
    return len(body["data"]["items"]) if isinstance(body["data"], dict) else len(body["data"])


def v1_links(base: str, login: str, key: str) -> int:
    """The same list through Premium's API v1, which reads the replica as api.php does."""
    answer = httpx.post(base + "/api/userapi/v1/get_partner_links", timeout=30,
                        data={"start_time": "0"}, headers={"API-LOGIN": login, "API-KEY": key})
    assert answer.status_code == 200, answer.text
    return len(answer.json()["data"]["items"])


class Cabinet:
    """alice signed in to her cabinet (the login form, as a browser)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base, timeout=30)
        self.http.get("/cabinet/login/")
        signed_in = self.http.post("/cabinet/login/", data={
            "username": "alice@example.com", "password": "correct horse 1",
            "csrfmiddlewaretoken": self.http.cookies["csrftoken"]})
        assert signed_in.status_code == 302, signed_in.text[:300]

    def clicks_csv(self) -> int:
        """Rows of the clicks CSV (a streamed answer)."""
        answer = self.http.get("/cabinet/clicks/csv")
        assert answer.status_code == 200, answer.text[:300]
        return len(answer.text.strip().splitlines()) - 1

    def clicks_table(self) -> int:
        """Rows of the clicks page's table."""
        answer = self.http.get("/cabinet/clicks/")
        assert answer.status_code == 200, answer.text[:300]
        body = answer.text.split("<tbody", 1)[1].split("</tbody>", 1)[0]
        return body.count("<tr")

    def pages(self) -> None:
        """The statistics and the exchanges, their CSVs too, answer."""
        for page in ("/cabinet/stats/", "/cabinet/stats/csv", "/cabinet/exchanges/",
                     "/cabinet/exchanges/csv"):
            answer = self.http.get(page)
            assert answer.status_code == 200, (page, answer.text[:300])


def clicks(base: str, code: str, count: int) -> None:
    for _ in range(count):
        # A browser's: crawlers' clicks are kept out of get_links.
        assert httpx.get(f"{base}/ref/{code}/?cur_from=PMUSD", timeout=10,
                         headers={"User-Agent": CHROME}).status_code == 302


def ready(base: str) -> str:
    answer = httpx.get(base + "/health/ready", timeout=10)
    assert answer.status_code == 200  # the replica is told, never a reason for 503
    return answer.text


def metric(base: str, name: str) -> float | None:
    reply = httpx.get(base + "/metrics", timeout=10,
                      headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert reply.status_code == 200, reply.text[:200]
    for line in reply.text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def check_the_replica(base: str, code: str, credentials: tuple[str, str],
                      primary: PostgresCluster, replica: PostgresCluster) -> None:
    login, key = credentials
    cabinet = Cabinet(base)
    clicks(base, code, 5)
    wait_for(lambda: replica.sql("SELECT count(*) FROM partners_click", "obmin") == "5",
             seconds=30, what="the replica catching up")
    assert wait_for(lambda: links(base, key) == 5, seconds=10, what="five links")
    assert cabinet.clicks_csv() == 5 and cabinet.clicks_table() == 5
    cabinet.pages()
    # Caught up (a write the replica has received and not yet replayed counts as behind).
    wait_for(lambda: "replica: 0.0 s behind, in use" in ready(base), seconds=10,
             what="the replica caught up")
    assert metric(base, "obmin_replica_lag_seconds") == 0.0
    assert metric(base, "obmin_replica_used") == 1.0

    # The replica stops replaying just after a fresh write: a little behind, still in use, its
    # answers do not have the clicks that follow: the lists are read from it.
    replica.sql("SELECT pg_wal_replay_pause()")
    paused_at = time.monotonic()
    primary.sql("CREATE TABLE replica_probe (x int); DROP TABLE replica_probe", "obmin")
    clicks(base, code, 3)
    if time.monotonic() - paused_at < MAX_LAG - 2:  # a machine this slow proves nothing here
        assert links(base, key) == 5
        assert v1_links(base, login, key) == 5
        assert cabinet.clicks_csv() == 5 and cabinet.clicks_table() == 5
    # Too far behind: the same question is answered by the primary.
    wait_for(lambda: "too far behind" in ready(base), seconds=MAX_LAG + 10,
             what="the replica found too far behind")
    assert links(base, key) == 8
    assert v1_links(base, login, key) == 8
    assert cabinet.clicks_csv() == 8 and cabinet.clicks_table() == 8
    assert metric(base, "obmin_replica_used") == 0.0
    assert (metric(base, "obmin_replica_lag_seconds") or 0) > MAX_LAG

    # Replaying again, caught up: back to the replica.
    replica.sql("SELECT pg_wal_replay_resume()")
    wait_for(lambda: "in use" in ready(base), seconds=30, what="the replica back in use")
    assert links(base, key) == 8

    # The replica dies: the lists come from the primary, no error.
    replica.stop("immediate")
    assert links(base, key) == 8
    assert cabinet.clicks_csv() == 8 and cabinet.clicks_table() == 8
    cabinet.pages()
    assert "replica: down" in ready(base)
    assert metric(base, "obmin_replica_up") == 0.0
