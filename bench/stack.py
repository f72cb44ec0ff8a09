"""The production stack for benchmarks, all on loopback and all the benchmark's own: a
PostgreSQL cluster (Debian's `pg_createcluster`, port 5433, trust auth, dropped at the end),
a Redis without persistence (port 6380, shut down at the end), and `obmin worker` beside
`obmin serve`. Nothing here touches the shared PostgreSQL (5432) or Redis (6379).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from bench.harness import OBMIN, ROOT, obmin_env, stop

PG_VERSION = "15"
PG_CLUSTER = "obminbench"
PG_PORT = 5433
REDIS_PORT = 6380
CLICK_STREAM = "obmin:clicks"  # obmin.partners.ingest.CLICK_STREAM
CLICK_GROUP = "obmin-click-writers"


def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


@dataclass
class Postgres:
    """Our own cluster. `database(name)` creates an empty database and returns its URL."""

    port: int = PG_PORT
    cluster: str = PG_CLUSTER

    def __enter__(self) -> Postgres:
        listing = _run("pg_lsclusters", "-h").stdout
        for line in listing.splitlines():
            fields = line.split()
            if fields[1] == self.cluster:
                # Left over by an interrupted run of ours: start from nothing.
                _run("pg_dropcluster", PG_VERSION, self.cluster, "--stop", check=False)
            elif fields[2] == str(self.port):
                raise SystemExit(f"port {self.port} belongs to cluster {fields[1]}; not ours")
        _run("pg_createcluster", PG_VERSION, self.cluster, "--port", str(self.port), "--start",
             "-o", "max_connections=200", "-o", "shared_buffers=256MB",
             "-o", "fsync=on", "-o", "log_min_messages=warning",
             "--", "--auth=trust")
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        _run("pg_dropcluster", PG_VERSION, self.cluster, "--stop", check=False)

    def wait_ready(self, timeout: float = 30) -> float:
        """Seconds until the cluster accepts connections."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            with contextlib.suppress(psycopg.Error):
                psycopg.connect(self.url("postgres"), connect_timeout=1).close()
                return time.monotonic() - started
            time.sleep(0.1)
        raise SystemExit(f"PostgreSQL on {self.port} did not come up")

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def database(self, name: str, *, template: str = "") -> str:
        """An empty database `name` (or a copy of `template`, which nobody may be connected
        to); its URL."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"'
                         + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def pids(self) -> list[int]:
        """The cluster's processes (postmaster and its children: backends, WAL writer...)."""
        pid_file = Path(f"/var/lib/postgresql/{PG_VERSION}/{self.cluster}/postmaster.pid")
        try:
            postmaster = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(postmaster)],
                             capture_output=True, text=True, check=False).stdout
        return [postmaster, *(int(p) for p in out.split())]

    def restart(self) -> None:
        _run("pg_ctlcluster", PG_VERSION, self.cluster, "restart", "-m", "fast")

    def scalar(self, name: str, sql: str, params: tuple[object, ...] = ()) -> int:
        with psycopg.connect(self.url(name), connect_timeout=3) as conn:
            row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
            return int(row[0]) if row and row[0] is not None else 0


@dataclass
class Redis:
    port: int = REDIS_PORT
    tmp: Path = field(default_factory=lambda: Path(f"/tmp/obmin-bench-redis-{os.getpid()}"))

    def __enter__(self) -> Redis:
        with contextlib.suppress(redis.RedisError):
            if redis.Redis(port=self.port).ping():
                raise SystemExit(f"something answers on Redis port {self.port} already")
        self.tmp.mkdir(exist_ok=True)
        _run("redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "yes", "--enable-debug-command", "local",
             "--dir", str(self.tmp),
             "--pidfile", str(self.tmp / "redis.pid"), "--logfile", str(self.tmp / "redis.log"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if self.client().ping():
                    return self
            time.sleep(0.1)
        raise SystemExit("redis-server did not start")

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(redis.RedisError):
            self.client().shutdown(nosave=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=10)

    def pids(self) -> list[int]:
        try:
            return [int((self.tmp / "redis.pid").read_text().strip())]
        except (OSError, ValueError):
            return []

    def flush(self) -> None:
        self.client().flushall()

    def clicks_queued(self) -> int:
        """Clicks in the stream not yet acknowledged by the writers (undelivered + pending)."""
        client = self.client()
        try:
            groups = client.xinfo_groups(CLICK_STREAM)
        except redis.ResponseError:
            return int(client.exists(CLICK_STREAM) and client.xlen(CLICK_STREAM))
        group = next((g for g in groups if g["name"] in (CLICK_GROUP, CLICK_GROUP.encode())),
                     None)
        if group is None:
            return int(client.xlen(CLICK_STREAM))
        return int(group.get("lag") or 0) + int(group.get("pending") or 0)


class Worker:
    """`obmin worker` in the background, with the server's environment; stderr kept in a file."""

    def __init__(self, data_dir: Path, env: dict[str, str], log: Path) -> None:
        self.data_dir, self.env, self.log = data_dir, env, log
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Worker:
        self.process = subprocess.Popen(
            [OBMIN, "worker"], env=obmin_env(self.data_dir, self.env), cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=self.log.open("ab"), start_new_session=True)
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self.process)


def access_log_count(path: Path, *, prefix: str, status: str) -> int:
    """Lines of `obmin serve`'s access log for GETs of paths starting with `prefix` answered
    with `status`: what the server answered, including requests wrk abandoned at its end."""
    pattern = re.compile(rf'"GET {re.escape(prefix)}\S* HTTP/[\d.]+" {status} |'
                         rf'"GET {re.escape(prefix)}\S*" {status} ')
    count = 0
    with contextlib.suppress(FileNotFoundError), path.open(errors="replace") as lines:
        for line in lines:
            if pattern.search(line):
                count += 1
    return count


def status_counts(path: Path) -> dict[str, int]:
    """Answers by status code in an access log (every path)."""
    counts: dict[str, int] = {}
    with contextlib.suppress(FileNotFoundError), path.open(errors="replace") as lines:
        for line in lines:
            match = re.search(r'" (\d{3}) ', line)
            if match:
                counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return counts


@contextlib.contextmanager
def stack() -> Iterator[tuple[Postgres, Redis]]:
    with Postgres() as pg, Redis() as rds:
        yield pg, rds
