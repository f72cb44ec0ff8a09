"""Hard faults under load, through the shipped nginx: two `obmin serve` and two `obmin worker`
on a PostgreSQL cluster with a streaming replica and a Redis, all of the test's own. While
partner links are followed without pause: a worker is SIGKILLed mid-batch, then an app server;
Redis is stopped for 10 s, the replica dies (the partner API answers from the primary), then
PostgreSQL is stopped for 10 s. /ref/ answers every request with its redirect, pages needing
the database answer a short 503 page meanwhile, and afterwards every answered click is stored
exactly once, alice's rewards on hold (due when the workers start) are each released once, and
`obmin ledger check` is clean. A second partner's link, followed at a pace
its postbacks keep up with, wants a postback per click: each is queued exactly once and
received.

Run in CI's PostgreSQL pass (it makes its own cluster, so once is enough)."""

from __future__ import annotations

import collections
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import redis

from obmin.partners.ingest import CLICK_GROUP, CLICK_STREAM
from obmin.partners.tests.conftest import CHROME
from obmin.testing.deploy import (
    NginxSite,
    PostgresCluster,
    RedisServer,
    free_port,
    nginx_binary,
    postgres_bin_dir,
    redis_server_binary,
    unverified_tls,
)

OBMIN = str(Path(sys.executable).with_name("obmin"))
NGINX, REDIS, PG_BIN = nginx_binary(), redis_server_binary(), postgres_bin_dir()
OUTAGE_SECONDS = 10

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                       reason="run in the PostgreSQL pass (it makes a cluster of its own)"),
    pytest.mark.skipif(None in (NGINX, REDIS, PG_BIN),
                       reason="needs nginx, redis-server and PostgreSQL's server programs"),
]


def wait_for(condition, *, seconds: float, what: str, poll: float = 0.1):
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(poll)
    return value


class Processes:
    """The app servers and workers, started as systemd would (and started again after a kill)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as log:
            process = subprocess.Popen([OBMIN, *args], env=self.env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.running.append(process)
        return process

    def server(self, port: int, *, wait: bool = True) -> subprocess.Popen[bytes]:
        process = self.start(f"serve-{port}", "serve", "--workers", "1", "--bind",
                             f"127.0.0.1:{port}")
        if wait:
            wait_for(lambda: _live(port), seconds=60, what=f"obmin serve on {port}")
        return process

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        return self.start(name, "worker", "--interval", "0.2")

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _live(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


class Load:
    """Visitors following a partner link through nginx without pause, answers counted."""

    def __init__(self, url: str, *, threads: int = 3, pause: float = 0) -> None:
        self.url, self.threads, self.pause = url, threads, pause
        self.answers: collections.Counter[int | str] = collections.Counter()
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.pool = [threading.Thread(target=self.visit, daemon=True) for _ in range(threads)]

    def visit(self) -> None:
        with httpx.Client(verify=unverified_tls(), timeout=30,
                          headers={"Host": "obmin.example", "User-Agent": CHROME}) as visitor:
            while not self.stopping.is_set():
                try:
                    answer: int | str = visitor.get(self.url).status_code
                except httpx.HTTPError as error:
                    answer = type(error).__name__
                with self.lock:
                    self.answers[answer] += 1
                if self.pause:
                    time.sleep(self.pause)

    def redirects(self) -> int:
        with self.lock:
            return self.answers[302]

    def __enter__(self) -> Load:
        for thread in self.pool:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.pool:
            thread.join(timeout=60)


class Tracker:
    """The partner's postback receiver: every click postback it is sent, by delivery id."""

    def __init__(self) -> None:
        self.received: collections.Counter[str] = collections.Counter()
        self.clicks: set[str] = set()
        tracker = self

        class Answer(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                tracker.received[self.headers["X-Obmin-Delivery"]] += 1
                tracker.clicks.add(str(json.loads(body)["data"]["id"]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/postback"

    def __enter__(self) -> Tracker:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


WANTS_CLICK_POSTBACKS = """
from obmin.partners.models import Partner
from obmin.postbacks.services import postback_create
postback_create(partner=Partner.objects.get(ref_code={code!r}), url={url!r}, method="POST",
                events=["click"])
"""


# alice's rewards on hold, all due: the two workers' first rounds race to release them.
HELD_REWARDS = """
from datetime import timedelta
from decimal import Decimal
from django.utils import timezone
from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.partners.models import Partner
from obmin.rewards.models import RewardHold, RewardLevel, RewardProgram
from obmin.testing.factories import CurrencyFactory, DirectionFactory
program = RewardProgram.load()
program.reward_base, program.hold_days = "profit", 7
program.save()
RewardLevel.objects.update_or_create(min_turnover=Decimal(0), defaults={{"percent": 20}})
usd = CurrencyFactory(code="PMUSD", decimals=2, reserve=Decimal(50000), usd_price=Decimal(1))
btc = CurrencyFactory(code="BTC", decimals=8, reserve=Decimal(2), usd_price=Decimal(100000))
direction = DirectionFactory(currency_give=usd, currency_get=btc, rate_give=Decimal(100000),
                             rate_get=Decimal(1), min_amount=Decimal(10),
                             max_amount=Decimal(5000), profit_percent=Decimal(2))
partner = Partner.objects.get(ref_code={code!r})
for n in range({count}):
    exchange = exchange_create(direction=direction, amount_give=Decimal(1000),
                               account_get="bc1q", partner_id=partner.pk,
                               email=f"customer{{n}}@example.org")
    exchange_set_status(exchange_id=exchange.pk, status="success")
RewardHold.objects.update(release_at=timezone.now() - timedelta(seconds=1))
assert RewardHold.objects.count() == {count}
"""
HELD = 20


def test_hard_faults_under_load_lose_and_double_no_click(tmp_path):
    assert NGINX is not None and REDIS is not None and PG_BIN is not None
    timings: dict[str, float] = {}
    with PostgresCluster(PG_BIN) as postgres, RedisServer(REDIS) as redis_server, \
            Tracker() as tracker:
        postgres.sql("CREATE DATABASE obmin")
        env = {**os.environ, "DATABASE_URL": postgres.url("obmin"), "REDIS_URL": redis_server.url,
               "OBMIN_DATA_DIR": str(tmp_path / "data"), "BEHIND_PROXY": "1",
               "ALLOWED_HOSTS": "obmin.example,127.0.0.1", "LOG_LEVEL": "ERROR", "ACCESS_LOG": "0",
               # The tracker listens on loopback; every click's postback stays queued.
               "POSTBACK_ALLOW_PRIVATE": "1", "POSTBACK_MAX_PENDING": "1000000"}
        env.pop("DATABASE_REPLICA_URL", None)
        subprocess.run([OBMIN, "migrate", "-v0"], env=env, check=True, timeout=300)
        code = subprocess.run([OBMIN, "partner", "create", "alice@example.com", "--password",
                               "correct horse 1"], env=env, check=True, timeout=120,
                              capture_output=True, text=True).stdout.split()[-1]
        key = subprocess.run([OBMIN, "apikey", "create", "alice@example.com"], env=env,
                             check=True, timeout=120, capture_output=True,
                             text=True).stdout.split()[-1]
        bob = subprocess.run([OBMIN, "partner", "create", "bob@example.com", "--password",
                              "correct horse 2"], env=env, check=True, timeout=120,
                             capture_output=True, text=True).stdout.split()[-1]
        subprocess.run([OBMIN, "shell", "-c", WANTS_CLICK_POSTBACKS.format(
            code=bob, url=tracker.url)], env=env, check=True, timeout=120)
        subprocess.run([OBMIN, "shell", "-c", HELD_REWARDS.format(code=code, count=HELD)],
                       env=env, check=True, timeout=120)
        replica = postgres.replica()
        replica.start()
        env["DATABASE_REPLICA_URL"] = replica.url("obmin")
        processes = Processes(env, tmp_path)
        ports = [free_port(), free_port()]
        try:
            servers = {port: processes.server(port, wait=False) for port in ports}
            workers = [processes.worker("worker-1"), processes.worker("worker-2")]
            for port in ports:
                wait_for(lambda port=port: _live(port), seconds=60, what=f"serve on {port}")
            stream = redis.Redis.from_url(redis_server.url)
            with NginxSite(NGINX, upstreams=[f"127.0.0.1:{port}" for port in ports],
                           static_root=tmp_path / "data" / "static") as site, \
                    Load(f"{site.url}/ref/{code}/?cur_from=PMUSD&cur_to=BTC") as load, \
                    Load(f"{site.url}/ref/{bob}/", threads=1, pause=0.05) as bobs:
                wait_for(lambda: load.redirects() > 50, seconds=30, what="load running")
                timings.update(kill_a_worker_mid_batch(processes, workers, stream))
                timings.update(kill_an_app_server(processes, servers, ports[0], load))
                timings.update(stop_redis(redis_server, load))
                kill_the_replica(replica, site, key)
                timings.update(stop_postgres(postgres, site, load))
            answered = load.answers + bobs.answers
            started = time.monotonic()
            wait_for(lambda: stored(postgres) >= answered[302], seconds=60,
                     what="every answered click stored")
            timings["catch-up after the load"] = time.monotonic() - started
            wait_for(lambda: delivered(postgres) >= bobs.answers[302], seconds=60,
                     what="every click's postback delivered")
            timings["postbacks delivered after the load"] = time.monotonic() - started
            assert stream.xlen(CLICK_STREAM) == 0
            check = subprocess.run([OBMIN, "ledger", "check"], env=env, capture_output=True,
                                   text=True, timeout=120, check=False)
        finally:
            processes.stop_all()
            replica.__exit__()
        print("\nanswers:", dict(answered), "of which bob's:", dict(bobs.answers), "\n" + "\n".join(
            f"{what}: {seconds:.1f} s" for what, seconds in timings.items()))
        assert set(answered) == {302}, answered  # no 5xx, no error, every visitor redirected
        assert stored(postgres) == answered[302]
        assert postgres.sql("SELECT count(DISTINCT uid) FROM partners_click", "obmin") == str(
            answered[302])
        # One postback per click, none queued twice or lost, every one received; the same
        # delivery id may come twice only when a worker died or the database went away
        # between the send and its record (the receiver knows it by that id).
        assert set(bobs.answers) == {302}, bobs.answers
        assert postgres.sql("SELECT count(*) FROM postbacks_postbackdelivery", "obmin") == str(
            bobs.answers[302])
        assert delivered(postgres) == bobs.answers[302]
        assert len(tracker.received) == len(tracker.clicks) == bobs.answers[302]
        print("postbacks received twice:", sum(n - 1 for n in tracker.received.values()))
        # Each held reward released once, whichever worker's round came first.
        assert postgres.sql("SELECT count(*) FROM rewards_rewardhold", "obmin") == "0"
        assert postgres.sql("SELECT kind, count(*) FROM rewards_ledgerentry GROUP BY kind "
                            "ORDER BY kind", "obmin").split() == [f"credit|{HELD}",
                                                                  f"release|{HELD}"]
        assert check.returncode == 0, check.stdout + check.stderr


def stored(postgres: PostgresCluster) -> int:
    try:
        return int(postgres.sql("SELECT count(*) FROM partners_click", "obmin"))
    except subprocess.CalledProcessError:
        return -1


def delivered(postgres: PostgresCluster) -> int:
    try:
        return int(postgres.sql("SELECT count(*) FROM postbacks_postbackdelivery "
                                "WHERE status = 'delivered'", "obmin"))
    except subprocess.CalledProcessError:
        return -1


def readers_pending(stream: redis.Redis) -> dict[str, int]:
    try:
        return {reader["name"].decode(): reader["pending"]
                for reader in stream.xinfo_consumers(CLICK_STREAM, CLICK_GROUP)}
    except redis.ResponseError:
        return {}


def kill_a_worker_mid_batch(processes: Processes, workers: list[subprocess.Popen[bytes]],
                            stream: redis.Redis) -> dict[str, float]:
    victim = workers[0]
    reader = f"{os.uname().nodename}-{victim.pid}"
    # With a batch read and not yet acknowledged, if one is caught within 20 s.
    deadline = time.monotonic() + 20
    while readers_pending(stream).get(reader, 0) == 0 and time.monotonic() < deadline:
        time.sleep(0.002)
    os.killpg(victim.pid, signal.SIGKILL)
    killed = time.monotonic()
    victim.wait(timeout=10)
    held = readers_pending(stream).get(reader, 0)
    print(f"\nworker SIGKILLed holding {held} unacknowledged click(s)")
    timings = {}
    workers[0] = processes.worker("worker-1b")  # as systemd restarts it
    wait_for(lambda: readers_pending(stream).get(reader, 0) == 0, seconds=30,
             what="the killed worker's clicks taken over")
    timings["worker SIGKILL: its clicks taken over after"] = time.monotonic() - killed
    return timings


def kill_an_app_server(processes: Processes, servers: dict[int, subprocess.Popen[bytes]],
                       port: int, load: Load) -> dict[str, float]:
    os.killpg(servers[port].pid, signal.SIGKILL)
    killed, before = time.monotonic(), load.redirects()
    wait_for(lambda: load.redirects() > before + 50, seconds=30,
             what="redirects on the other server")
    servers[port] = processes.server(port)  # as systemd restarts it
    return {"app server SIGKILL: back after": time.monotonic() - killed}


def stop_redis(redis_server: RedisServer, load: Load) -> dict[str, float]:
    redis_server.stop()
    before = load.redirects()
    time.sleep(OUTAGE_SECONDS)
    assert load.redirects() > before, "no redirect while Redis was stopped"
    redis_server.start()
    return {"Redis stopped": OUTAGE_SECONDS}


def stop_postgres(postgres: PostgresCluster, site: NginxSite, load: Load) -> dict[str, float]:
    postgres.stop("fast")
    stopped, before = time.monotonic(), load.redirects()
    with httpx.Client(verify=unverified_tls(), timeout=30,
                      headers={"Host": "obmin.example"}) as browser:
        page = browser.get(site.url + "/exchange/")
        assert page.status_code == 503, page.text[:500]
        assert "Back in a moment" in page.text and "Traceback" not in page.text
        polls: collections.Counter[tuple[str, int]] = collections.Counter()
        while time.monotonic() - stopped < OUTAGE_SECONDS:
            for path in ("/request-exportxml.xml", "/cabinet/login/", "/health/ready"):
                polls[path, browser.get(site.url + path).status_code] += 1
            time.sleep(0.2)
    print("\nwhile PostgreSQL was stopped:", dict(polls))
    # The app's own answers, never nginx's "no live upstream": a monitor polling the export
    # through the outage must not make nginx take both servers for dead (and /ref/ with them).
    assert {status for _path, status in polls} <= {200, 503}, polls
    assert polls["/health/ready", 503] > 0
    assert load.redirects() > before, "no redirect while PostgreSQL was stopped"
    postgres.start()
    return {"PostgreSQL stopped": time.monotonic() - stopped}


def kill_the_replica(replica: PostgresCluster, site: NginxSite, key: str) -> None:
    with httpx.Client(verify=unverified_tls(), timeout=30,
                      headers={"Host": "obmin.example", "Authorization": f"Bearer {key}"}
                      ) as partner:
        def links() -> int:
            answer = partner.get(site.url + "/service/partner/api.php", params={
                "api_action": "pp", "method": "get_links", "start_time": "0"})
            assert answer.status_code == 200 and answer.json()["status"] == "success", answer.text
            data = answer.json()["data"]
            return len(data["items"]) if isinstance(data, dict) else len(data)

        assert links() > 0
        replica.stop("immediate")
        for _ in range(4):  # each app server's first read after it died, and the next ones
            assert links() > 0
        assert "replica: down" in partner.get(site.url + "/health/ready").text
