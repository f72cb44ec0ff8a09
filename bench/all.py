"""Every benchmark against the production stack, in one command and one table (issue 15).

    .venv/bin/python -m bench.all [--only NAME ...] [--quick] [--api-clicks N] [--no-write]

Starts a PostgreSQL cluster of its own (port 5433) and a Redis of its own (port 6380), and for
each benchmark a fresh database, `obmin serve` (its default processes, the cores + 1; access
log to a file) and `obmin worker` beside it. Each figure is printed beside its baseline,
`/health/live` on the same server measured in the same run (interleaved rounds, medians), then
the table is written to bench/RESULTS.md with the date, the machine and the commit.
Benchmarks (NAME):

  export    rate export (500 directions, XML) vs /health/live and vs nginx serving the same
            bytes, interleaved (aim: >= 0.5 of nginx)
  redirect  /ref/ (XADD to Redis, the worker writes): req/s and p99 at 16 connections beside
            /health/live, the worker ingesting (as now, and as before issue 31: 1 s batches,
            not niced), then stored clicks == answered redirects once the worker drained;
            then ingestion alone: clicks/s one worker stores, CPU per click (worker, PG, Redis)
  api       get_links over a year of clicks: items/s streamed, peak RSS, one-day query time
  cabinet   every cabinet report page on a generated year (`obmin demo --clicks`, 1,000,000
            clicks, 50,000 exchanges): ms per page, one client (aim < 300 ms); /cabinet/ load
  mixed     30 s of redirects, exports, API calls and exchange status flips at once, then
            stored clicks == answered redirects and `obmin ledger check`
  fault     redirect load while our PostgreSQL restarts, and while our Redis stalls 3 s
  scale     /ref/ through the shipped nginx (deploy/nginx, HTTPS): two `obmin serve` (one
            process each) against one, with the worker ingesting (aim: 1.7x on this machine),
            and where the cores went (each process of the stack, wrk, the machine's others)
  rates     quote age at export (issue 30): a minute of three simulated venues answering at
            random delays, the market sync every 2 s (bench/rates_age.py, on our PostgreSQL);
            aim: p95 under twice the venues' interval

Everything is loopback, every load run is bounded in time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.export import CODE as EXPORT_CODE
from bench.export import (
    DIRECTIONS,
    Nginx,
    client_cpu_seconds,
    cpu_seconds,
    measured,
    nginx_binary,
)
from bench.harness import (
    OBMIN,
    ROOT,
    LoadResult,
    Server,
    load,
    obmin,
    obmin_env,
    peak_rss_kib,
)
from bench.partner_api import ONE_DAY, RATE, YEAR, rss_sampler, stream
from bench.partner_api import url as api_url
from bench.results import replace_section
from bench.stack import Postgres, Redis, Worker, access_log_count, status_counts
from obmin.ops.management.commands.serve import default_workers
from obmin.testing.deploy import NginxSite

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/120.0.0.0 Safari/537.36")
REF_CODE = "alice001"  # a demo partner
REF_PATH = f"/ref/{REF_CODE}/?cur_from=PMUSD&cur_to=BTC"
DEMO_PASSWORD = "demo-partner-2026"  # obmin.ops.demo.DEMO_PASSWORD
NAMES = ["export", "redirect", "api", "cabinet", "mixed", "fault", "scale", "rates"]
ALIASES = {"ref_redirect": "redirect", "partner_api": "api"}


@dataclass
class Row:
    bench: str
    figure: str
    value: str
    baseline: str = ""
    ratio: str = ""
    aim: str = ""
    met: str = ""  # "yes", "NO" or "" (no aim)


@dataclass
class Run:
    args: argparse.Namespace
    pg: Postgres
    rds: Redis
    logs: Path
    rows: list[Row] = field(default_factory=list)
    demo_built: bool = False

    def add(self, *row: str) -> None:
        self.rows.append(Row(*row))
        r = self.rows[-1]
        print(f"  {r.figure:<44} {r.value:>18} {r.baseline:>18} {r.ratio:>8} {r.aim:>12} "
              f"{r.met}", flush=True)

    def env(self, name: str) -> dict[str, str]:
        return {"DATABASE_URL": self.pg.url(f"obmin_{name}"), "REDIS_URL": self.rds.url,
                "CACHE_KEY_PREFIX": f"bench-{name}", "SECRET_KEY": "bench-" + "x" * 50,
                "PARTNER_API_RATE": RATE, "PARTNER_API_BAD_KEY_RATE": RATE,
                "AXES_FAILURE_LIMIT": "1000"}

    def fresh(self, name: str) -> tuple[Path, dict[str, str]]:
        """An empty database and data directory for benchmark `name`, migrated."""
        self.pg.database(f"obmin_{name}")
        self.rds.flush()
        data_dir = self.logs / f"data-{name}"
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        env = self.env(name)
        obmin("migrate", "-v0", data_dir=data_dir, env=env)
        return data_dir, env

    def server(self, name: str, data_dir: Path, env: dict[str, str]) -> Server:
        return Server(data_dir=data_dir, workers=self.args.workers, env=env,
                      log=self.logs / f"access-{name}.log")

    def worker(self, name: str, data_dir: Path, env: dict[str, str]) -> Worker:
        return Worker(data_dir, env, self.logs / f"worker-{name}.log")


def ratio_cell(value: float, base: float) -> str:
    return f"{value / base:.2f}" if base else "–"


def aim_met(ok: bool) -> str:
    return "yes" if ok else "NO"


def py(code: str, *, data_dir: Path, env: dict[str, str]) -> str:
    """Runs Python with Django set up against the benchmark's database; returns stdout."""
    script = "import django; django.setup()\n" + code
    from bench.harness import obmin_env

    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, env=obmin_env(data_dir, env), check=False)
    if result.returncode:
        raise SystemExit(f"python helper failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    return result.stdout


def interleaved(pairs: list[tuple[str, str, dict[str, str]]], *, rounds: int, seconds: int,
                connections: int, pids: list[int]) -> dict[str, list[tuple[LoadResult, float]]]:
    """Rounds of (label, url, headers) runs one after the other: (result, server CPU us/req)."""
    out: dict[str, list[tuple[LoadResult, float]]] = {label: [] for label, _u, _h in pairs}
    for _ in range(rounds):
        for label, url, headers in pairs:
            result, server_us, _client = measured(pids, url, connections=connections,
                                                  seconds=seconds, headers=headers)
            out[label].append((result, server_us))
    return out


def med(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def clicks_stored(run: Run, name: str) -> int:
    return run.pg.scalar(f"obmin_{name}", "SELECT count(*) FROM partners_click")


def drain(run: Run, name: str, *, expected: int | None = None, timeout: float = 60,
          settle: float = 3) -> float:
    """Waits until the stream is empty and the stored count has not moved for `settle`
    seconds; returns seconds."""
    started = time.monotonic()
    last, still_since = -1, time.monotonic()
    while time.monotonic() - started < timeout:
        queued = run.rds.clicks_queued()
        stored = clicks_stored(run, name)
        spool = sum(1 for _ in (run.logs / f"data-{name}" / "spool").glob("*"))
        if stored != last:
            last, still_since = stored, time.monotonic()
        if queued == 0 and not spool and (stored == expected or
                                          time.monotonic() - still_since > settle):
            return time.monotonic() - started
        time.sleep(0.2)
    return time.monotonic() - started


# --- export -------------------------------------------------------------------------------


def bench_export(run: Run) -> None:
    """The export against /health/live on the same server and against nginx serving the very
    same bytes as a static file, all three interleaved round by round (the machine is shared:
    noise hits every kind of run alike)."""
    data_dir, env = run.fresh("export")
    py(f"from bench.export import build_data; from pathlib import Path; "
       f"build_data(Path({str(data_dir)!r}))", data_dir=data_dir, env=env)
    a = run.args
    binary = nginx_binary()
    with run.server("export", data_dir, env) as srv, run.worker("export", data_dir, env), \
            contextlib.ExitStack() as stack:
        export_url = f"{srv.url}/service/export/xml/{EXPORT_CODE}"
        body = httpx.get(export_url, timeout=30).content
        if body.count(b"<item>") != DIRECTIONS:
            raise SystemExit(f"the export has {body.count(b'<item>')} items, not {DIRECTIONS}")
        pairs: list[tuple[str, str, dict[str, str]]] = [
            ("live", srv.url + "/health/live", {}), ("export", export_url, {})]
        if binary:
            nginx = stack.enter_context(Nginx(binary, body))
            pairs.append(("nginx", nginx.url, {}))
        for _label, url, _h in pairs:
            load(url, connections=32, seconds=2)
        res = interleaved(pairs, rounds=a.rounds, seconds=a.seconds, connections=32,
                          pids=srv.worker_pids())
    live_rps, exp_rps = (med([r.rps for r, _c in res[k]]) for k in ("live", "export"))
    ratios = [e.rps / li.rps for (e, _), (li, _) in zip(res["export"], res["live"], strict=True)]
    run.add("export", f"export xml ({len(body):,} B) req/s, 32 conn", f"{exp_rps:,.0f}",
            f"{live_rps:,.0f}", f"{med(ratios):.2f}", ">= 0.90", aim_met(med(ratios) >= 0.9))
    live_p99, exp_p99 = (med([r.p99_ms for r, _c in res[k]]) for k in ("live", "export"))
    run.add("export", "export xml p99 ms", f"{exp_p99:.1f}", f"{live_p99:.1f}",
            ratio_cell(exp_p99, live_p99))
    live_cpu, exp_cpu = (med([c for _r, c in res[k]]) for k in ("live", "export"))
    run.add("export", "server CPU us/request", f"{exp_cpu:.0f}", f"{live_cpu:.0f}",
            ratio_cell(exp_cpu, live_cpu))
    if "nginx" in res:
        nginx_rps = med([r.rps for r, _c in res["nginx"]])
        per_round = [e.rps / n.rps for (e, _), (n, _) in zip(res["export"], res["nginx"],
                                                              strict=True)]
        # Baseline of the issue 31 aim, measured before this round's changes (bench/RESULTS.md).
        run.add("export", "export / nginx same bytes, interleaved (was 0.19-0.31)",
                f"{exp_rps:,.0f}", f"nginx {nginx_rps:,.0f}", f"{med(per_round):.2f}",
                ">= 0.50", aim_met(med(per_round) >= 0.5))
    else:
        run.add("export", "export / nginx same bytes", "nginx not installed", "", "", ">= 0.50",
                "NO")


# --- redirect -----------------------------------------------------------------------------


DEMO_TEMPLATE = "demo"


def demo_db(run: Run, name: str) -> tuple[Path, dict[str, str]]:
    """A database with `obmin demo`'s data for benchmark `name`: the demo is built once per
    run, then copied by PostgreSQL (CREATE DATABASE ... TEMPLATE, a second, against a
    migration and a demo each: a minute of the full run)."""
    if not run.demo_built:
        fresh_dir, fresh_env = run.fresh(DEMO_TEMPLATE)
        obmin("demo", "--no-serve", data_dir=fresh_dir, env=fresh_env)
        run.demo_built = True
    run.pg.database(f"obmin_{name}", template=f"obmin_{DEMO_TEMPLATE}")
    run.rds.flush()
    data_dir = run.logs / f"data-{name}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    return data_dir, run.env(name)


# The worker as it was before issue 31's tail work: every queued click written once a second,
# at the app servers' CPU priority. Run beside the worker as it is now, in the same run.
WORKER_BEFORE = {"CLICK_INGEST_SECONDS": "1", "WORKER_NICE": "0"}


def bench_redirect(run: Run) -> None:
    """/ref/ at 16 connections beside /health/live, the worker ingesting what it answers;
    each round also measures /ref/ with the worker as it was before (WORKER_BEFORE), started
    in its place. Then ingestion alone: clicks queued with no worker running, then written by
    one worker, per second and per click of CPU (the worker's, PostgreSQL's)."""
    data_dir, env = demo_db(run, "redirect")
    a = run.args
    headers = {"User-Agent": CHROME}
    log = run.logs / "access-redirect.log"
    res: dict[str, list[tuple[LoadResult, float]]] = {"live": [], "ref": [], "ref-before": []}
    with run.server("redirect", data_dir, env) as srv:
        pids = srv.worker_pids()
        with run.worker("redirect", data_dir, env):
            load(srv.url + "/health/live", connections=16, seconds=2)
            load(srv.url + REF_PATH, connections=16, seconds=2, headers=headers)
            drain(run, "redirect")
        before_stored = clicks_stored(run, "redirect")
        before_log = access_log_count(log, prefix="/ref/", status="302")
        for _ in range(a.rounds):
            for config, extra, kinds in (("before", WORKER_BEFORE, ["ref-before"]),
                                         ("now", {}, ["live", "ref"])):
                with Worker(data_dir, {**env, **extra},
                            run.logs / f"worker-redirect-{config}.log"):
                    time.sleep(1.5)  # Django set up, first round of duties done
                    drain(run, "redirect", settle=0.5)
                    for kind in kinds:
                        url = srv.url + ("/health/live" if kind == "live" else REF_PATH)
                        result, server_us, _client = measured(
                            pids, url, connections=16, seconds=a.seconds, headers=headers)
                        res[kind].append((result, server_us))
                    # Written before this worker stops (a stopped reader's clicks would wait
                    # out the redelivery delay); the count is checked once, at the end.
                    drain(run, "redirect", settle=0.5)
        wrk_answered = sum(r.requests - r.non_2xx_3xx for k in ("ref", "ref-before")
                           for r, _c in res[k])
        errors = sum(r.errors + r.non_2xx_3xx for k in ("ref", "ref-before") for r, _c in res[k])
        with run.worker("redirect", data_dir, env):
            waited = drain(run, "redirect")
        stored = clicks_stored(run, "redirect") - before_stored
        server_302 = access_log_count(log, prefix="/ref/", status="302") - before_log
        ingest = ingestion(run, srv, data_dir, env, seconds=max(2 * a.seconds, 6))
    live_rps, ref_rps, old_rps = (med([r.rps for r, _c in res[k]])
                                  for k in ("live", "ref", "ref-before"))

    def rps_ratio(kind: str) -> float:
        return med([r.rps / li.rps for (r, _), (li, _) in zip(res[kind], res["live"],
                                                               strict=True)])

    def p99_ratio(kind: str) -> float:
        return med([r.p99_ms / li.p99_ms for (r, _), (li, _) in zip(res[kind], res["live"],
                                                                     strict=True)])

    run.add("redirect", "/ref/ req/s, 16 conn, worker ingesting", f"{ref_rps:,.0f}",
            f"{live_rps:,.0f}", f"{rps_ratio('ref'):.2f}", ">= 0.90",
            aim_met(rps_ratio("ref") >= 0.9))
    live_p99, ref_p99, old_p99 = (med([r.p99_ms for r, _c in res[k]])
                                  for k in ("live", "ref", "ref-before"))
    run.add("redirect", "/ref/ p99 ms, 16 conn, worker ingesting", f"{ref_p99:.1f}",
            f"{live_p99:.1f}", f"{p99_ratio('ref'):.2f}", "<= 3x", aim_met(p99_ratio("ref") <= 3))
    run.add("redirect", "  same, worker as before: req/s", f"{old_rps:,.0f}", f"{live_rps:,.0f}",
            f"{rps_ratio('ref-before'):.2f}")
    run.add("redirect", "  same, worker as before: p99 ms", f"{old_p99:.1f}", f"{live_p99:.1f}",
            f"{p99_ratio('ref-before'):.2f}")
    live_cpu, ref_cpu = (med([c for _r, c in res[k]]) for k in ("live", "ref"))
    run.add("redirect", "server CPU us/request (not PG, Redis)", f"{ref_cpu:.0f}",
            f"{live_cpu:.0f}", ratio_cell(ref_cpu, live_cpu))
    run.add("redirect", "clicks stored / redirects answered (server)",
            f"{stored:,} / {server_302:,}", f"wrk saw {wrk_answered:,}", "", "equal",
            aim_met(stored == server_302 and errors == 0))
    run.add("redirect", "worker drain after load, s", f"{waited:.1f}")
    clicks, took, worker_cpu, pg_cpu, redis_cpu = ingest
    run.add("ingest", f"clicks one worker stores/s on PostgreSQL ({clicks:,} queued)",
            f"{clicks / took:,.0f}" if took else "–", f"{took:.1f} s")
    per = 1e6 / max(clicks, 1)
    run.add("ingest", "CPU us/click: worker; PostgreSQL; Redis",
            f"{worker_cpu * per:.0f}; {pg_cpu * per:.0f}; {redis_cpu * per:.0f}",
            f"redirect {ref_cpu:.0f} (server)")


def ingestion(run: Run, srv: Server, data_dir: Path, env: dict[str, str], *,
              seconds: int) -> tuple[int, float, float, float, float]:
    """Clicks answered by /ref/ while no worker runs (they wait in the stream), then one
    worker started: (clicks, seconds from its first write to the last, CPU seconds of the
    worker, of PostgreSQL and of Redis meanwhile)."""
    load(srv.url + REF_PATH, connections=16, seconds=seconds, headers={"User-Agent": CHROME})
    time.sleep(0.5)  # the last answers wrk abandoned
    base = clicks_stored(run, "redirect")
    with run.worker("redirect-ingest", data_dir, env) as worker:
        assert worker.process
        deadline = time.monotonic() + 120
        while clicks_stored(run, "redirect") == base and time.monotonic() < deadline:
            time.sleep(0.02)
        started, first = time.monotonic(), clicks_stored(run, "redirect")
        cpu0 = (cpu_seconds([worker.process.pid]), cpu_seconds(run.pg.pids()),
                cpu_seconds(run.rds.pids()))
        while run.rds.clicks_queued() and time.monotonic() < deadline:
            time.sleep(0.02)
        took = time.monotonic() - started
        cpu1 = (cpu_seconds([worker.process.pid]), cpu_seconds(run.pg.pids()),
                cpu_seconds(run.rds.pids()))
        written = clicks_stored(run, "redirect") - first
    return (written, took, cpu1[0] - cpu0[0], cpu1[1] - cpu0[1], cpu1[2] - cpu0[2])


# --- api ----------------------------------------------------------------------------------


def bench_api(run: Run) -> None:
    a = run.args
    data_dir, env = run.fresh("api")
    started = time.monotonic()
    key = py(f"from bench.partner_api import build; from pathlib import Path; "
             f"print(build(Path({str(data_dir)!r}), {a.api_clicks}, {a.api_exchanges}))",
             data_dir=data_dir, env=env).strip().splitlines()[-1]
    print(f"  (built {a.api_clicks:,} clicks, {a.api_exchanges:,} exchanges on PostgreSQL in "
          f"{time.monotonic() - started:.0f} s)", flush=True)
    with run.server("api", data_dir, env) as srv, run.worker("api", data_dir, env):
        pids = srv.worker_pids()
        day_url = api_url(srv, key, "get_links", ONE_DAY)
        httpx.get(day_url, timeout=60)
        load(srv.url + "/health/live", connections=8, seconds=2)
        load(day_url, connections=8, seconds=2)
        res = interleaved([("live", srv.url + "/health/live", {}), ("day", day_url, {})],
                          rounds=a.rounds, seconds=a.seconds, connections=8, pids=pids)
        single: dict[str, float] = {}
        items = 0
        with httpx.Client(timeout=60) as client:
            for label, link in (("live", srv.url + "/health/live"), ("day", day_url)):
                times = []
                for _ in range(40):
                    t0 = time.perf_counter()
                    response = client.get(link)
                    times.append((time.perf_counter() - t0) * 1000)
                if label == "day":
                    items = len(response.json()["data"]["items"])
                single[label] = med(times)
        hwm_day = sum(peak_rss_kib(pid) for pid in pids)
        stop, peak = threading.Event(), {}
        sampler = threading.Thread(target=rss_sampler, args=(pids, stop, peak), daemon=True)
        sampler.start()
        seconds, count, ended = stream(api_url(srv, key, "get_links", YEAR), b'"query_string"')
        stop.set()
        sampler.join()
        hwm_year = sum(peak_rss_kib(pid) for pid in pids)
    live_rps, day_rps = (med([r.rps for r, _c in res[k]]) for k in ("live", "day"))
    run.add("api", "get_links one day req/s, 8 conn", f"{day_rps:,.0f}", f"{live_rps:,.0f}",
            ratio_cell(day_rps, live_rps))
    run.add("api", f"get_links one day ({items} items) ms, 1 client",
            f"{single['day']:.1f}", f"{single['live']:.1f}",
            ratio_cell(single["day"], single["live"]), "< 20 ms", aim_met(single["day"] < 20))
    rate = count / seconds if seconds else 0
    run.add("api", f"get_links year streamed items/s ({count:,}/{a.api_clicks:,})",
            f"{rate:,.0f}", "", "", ">= 150,000",
            aim_met(rate >= 150_000 and count == a.api_clicks and ended))
    grew = (hwm_year - hwm_day) / 1024
    run.add("api", "server peak RSS after a day / after the year", f"{hwm_year / 1024:.0f} MiB",
            f"{hwm_day / 1024:.0f} MiB", f"+{grew:.0f} MiB", "flat (< +20 MiB)",
            aim_met(grew < 20))


# --- cabinet ------------------------------------------------------------------------------

def login(base: str, email: str) -> str:
    """Logs in through the cabinet's form; returns the session cookie's value."""
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/cabinet/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        response = client.post("/cabinet/login/", data={
            "username": email, "password": DEMO_PASSWORD,
            "csrfmiddlewaretoken": token.group(1) if token else ""},
            headers={"Referer": base + "/cabinet/login/"})
        session = client.cookies.get("sessionid")
        if response.status_code not in (302, 303) or not session:
            raise SystemExit(f"cabinet login failed: {response.status_code}")
        return session


CABINET_PAGES = [
    ("dashboard, 30 days", "/cabinet/"),
    ("statistics, 30 days, by sub1", "/cabinet/stats/"),
    ("statistics, last month, by country", "/cabinet/stats/?period=last_month&by=country"),
    ("statistics, a year by week, by referrer",
     "/cabinet/stats/?period=custom&from={year_ago}&to={today}&by=referrer"),
    # The browser's zone (the tz cookie), a half-hour offset: every local midnight splits a
    # UTC day, so the most hours read from hourly rollups and the raw table.
    ("statistics, a year by week, by country, zone UTC-3:30",
     "/cabinet/stats/?period=custom&from={year_ago}&to={today}&by=country"
     "#tz=America/St_Johns"),
    ("clicks, 30 days, page 1", "/cabinet/clicks/"),
    ("clicks, a year, sub1=tg, page 3",
     "/cabinet/clicks/?period=custom&from={year_ago}&to={today}&sub1=tg&page=3"),
    ("exchanges, 30 days", "/cabinet/exchanges/"),
    ("ledger, 30 days", "/cabinet/ledger/"),
    ("payouts", "/cabinet/payouts/"),
]


def page_request(path: str, cookie: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A CABINET_PAGES path and its headers: `#tz=<zone>` sends the browser's zone cookie."""
    path, _hash, zone = path.partition("#tz=")
    return path, ({"Cookie": f"{cookie['Cookie']}; tz={zone}"} if zone else {})


def bench_cabinet(run: Run) -> None:
    """Every cabinet report page on a generated year (`obmin demo --no-serve --clicks N`):
    one client, each page in turn, median and slowest of the rounds (aim: under 300 ms)."""
    a = run.args
    data_dir, env = run.fresh("cabinet")
    started = time.monotonic()
    obmin("demo", "--no-serve", "--clicks", str(a.cabinet_clicks), data_dir=data_dir, env=env)
    print(f"  (generated {a.cabinet_clicks:,} clicks, ~{a.cabinet_clicks // 20:,} exchanges in "
          f"{time.monotonic() - started:.0f} s)", flush=True)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    year_ago = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 364 * 86400))
    pages = [(label, path.format(today=today, year_ago=year_ago))
             for label, path in CABINET_PAGES]
    with run.server("cabinet", data_dir, env) as srv, run.worker("cabinet", data_dir, env):
        cookie = {"Cookie": f"sessionid={login(srv.url, 'alice@example.com')}"}
        times: dict[str, list[float]] = {label: [] for label, _p in pages}
        bad = 0
        with httpx.Client(base_url=srv.url, headers=cookie, timeout=60) as client:
            for _label, page in pages:  # warm each worker's imports and caches
                path, headers = page_request(page, cookie)
                client.get(path, headers=headers)
            for _ in range(max(5, a.rounds * 4)):
                for label, page in pages:
                    path, headers = page_request(page, cookie)
                    t0 = time.perf_counter()
                    response = client.get(path, headers=headers)
                    times[label].append((time.perf_counter() - t0) * 1000)
                    bad += response.status_code != 200
            live = []
            for _ in range(20):
                t0 = time.perf_counter()
                client.get("/health/live")
                live.append((time.perf_counter() - t0) * 1000)
        load(srv.url + "/cabinet/", connections=8, seconds=2, headers=cookie)
        res = interleaved([("live", srv.url + "/health/live", {}),
                           ("cabinet", srv.url + "/cabinet/", cookie)],
                          rounds=a.rounds, seconds=a.seconds, connections=8,
                          pids=srv.worker_pids())
    for label, _path in pages:
        slowest = max(times[label])
        run.add("cabinet", f"{label}: ms median (slowest)",
                f"{med(times[label]):.0f} ({slowest:.0f})", f"{med(live):.1f}",
                ratio_cell(med(times[label]), med(live)), "< 300 ms", aim_met(slowest < 300))
    run.add("cabinet", "report pages answering non-200", str(bad), "", "", "0",
            aim_met(bad == 0))
    live_rps, cab_rps = (med([r.rps for r, _c in res[k]]) for k in ("live", "cabinet"))
    run.add("cabinet", f"/cabinet/ req/s, 8 conn ({a.cabinet_clicks:,} clicks a year)",
            f"{cab_rps:,.0f}", f"{live_rps:,.0f}", ratio_cell(cab_rps, live_rps))
    live_p99, cab_p99 = (med([r.p99_ms for r, _c in res[k]]) for k in ("live", "cabinet"))
    run.add("cabinet", "/cabinet/ p99 ms, 8 conn", f"{cab_p99:.1f}", f"{live_p99:.1f}",
            ratio_cell(cab_p99, live_p99))


# --- mixed --------------------------------------------------------------------------------

FLIPS = """
import sys, time
from obmin.exchange.models import Exchange
from obmin.exchange.services import exchange_set_status
ids = list(Exchange.objects.exclude(partner=None).order_by("id").values_list("id", flat=True))
flips, refused, deadline = 0, 0, time.monotonic() + {seconds}
while time.monotonic() < deadline:
    for exchange_id in ids:
        if time.monotonic() >= deadline:
            break
        status = Exchange.objects.get(pk=exchange_id).status
        try:
            exchange_set_status(exchange_id=exchange_id,
                                status="error" if status == "success" else "success",
                                actor="bench")
            flips += 1
        except Exception as error:
            refused += 1
            print("refused", exchange_id, status, error, file=sys.stderr)
        time.sleep(0.05)
print(flips, refused)
"""


class Background(threading.Thread):
    def __init__(self, target: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self._target_fn, self.result = target, None

    def run(self) -> None:
        self.result = self._target_fn()


def bench_mixed(run: Run) -> None:
    seconds = run.args.mixed_seconds
    data_dir, env = demo_db(run, "mixed")
    key = obmin("apikey", "create", "alice@example.com", data_dir=data_dir,
                env=env).strip().splitlines()[-1]
    log = run.logs / "access-mixed.log"
    with run.server("mixed", data_dir, env) as srv, run.worker("mixed", data_dir, env):
        links = {
            "redirect": (srv.url + REF_PATH, 8, {"User-Agent": CHROME}),
            "export": (f"{srv.url}/service/export/xml/bestmon1", 4, {}),
            "api": (f"{srv.url}/service/partner/api.php?api_action=pp&api_key={key}"
                    f"&method=get_links&start_time={int(time.time()) - 86400 * 30}"
                    f"&end_time={int(time.time())}", 4, {}),
        }
        for link, _c, headers in links.values():
            if httpx.get(link, headers=headers, timeout=30).status_code >= 500:
                raise SystemExit(f"{link} answers 5xx before the load")
        drain(run, "mixed")
        before_stored = clicks_stored(run, "mixed")
        before_log = access_log_count(log, prefix="/ref/", status="302")
        threads = {name: Background(lambda link=link, c=c, h=headers: load(
            link, connections=c, seconds=seconds, threads=1, headers=h))
            for name, (link, c, headers) in links.items()}
        threads["flips"] = Background(lambda: py(FLIPS.format(seconds=seconds),
                                                 data_dir=data_dir, env=env))
        for thread in threads.values():
            thread.start()
        for thread in threads.values():
            thread.join()
        waited = drain(run, "mixed")
        stored = clicks_stored(run, "mixed") - before_stored
        server_302 = access_log_count(log, prefix="/ref/", status="302") - before_log
    ledger = subprocess.run([OBMIN, "ledger", "check"], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, "OBMIN_DATA_DIR": str(data_dir),
                                            **env}, check=False)
    (run.logs / "ledger-check-mixed.txt").write_text(ledger.stdout + ledger.stderr)
    statuses = status_counts(log)
    fives = sum(n for code, n in statuses.items() if code.startswith("5"))
    for name in ("redirect", "export", "api"):
        result: LoadResult = threads[name].result  # type: ignore[assignment]
        run.add("mixed", f"{name} req/s (p99 ms) under mixed load",
                f"{result.rps:,.0f} ({result.p99_ms:.0f})", "", "", "",
                "" if not (result.errors or result.non_2xx_3xx) else
                f"NO: {result.errors} errors, {result.non_2xx_3xx} non-2xx")
    flips = (threads["flips"].result or "0 0").split()
    run.add("mixed", "exchange status flips (refused)", f"{flips[-2]} ({flips[-1]})")
    run.add("mixed", "5xx in the access log", str(fives), "", "", "0", aim_met(fives == 0))
    run.add("mixed", "clicks stored / redirects answered", f"{stored:,} / {server_302:,}",
            "", "", "equal", aim_met(stored == server_302))
    run.add("mixed", "worker drain after the load, s", f"{waited:.1f}")
    run.add("mixed", "obmin ledger check", "passes" if ledger.returncode == 0 else
            "FAILS: " + (ledger.stdout + ledger.stderr).strip().splitlines()[-1][:60],
            "", "", "passes", aim_met(ledger.returncode == 0))


# --- fault --------------------------------------------------------------------------------


def fault_phase(run: Run, srv: Server, label: str, fault: Callable[[], None], *,
                seconds: int) -> None:
    """Redirect load for `seconds`; the fault at a third of it; then stored vs answered."""
    log = run.logs / "access-fault.log"
    drain(run, "fault")
    before_stored = clicks_stored(run, "fault")
    before_302 = access_log_count(log, prefix="/ref/", status="302")
    before_status = status_counts(log)
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            # Redis may be asleep: a gap in the samples.
            with contextlib.suppress(Exception):
                samples.append((time.monotonic(), run.rds.clicks_queued()))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    loader = Background(lambda: load(srv.url + REF_PATH, connections=16, seconds=seconds,
                                     headers={"User-Agent": CHROME}))
    loader.start()
    time.sleep(seconds / 3)
    fault_start = time.monotonic()
    fault()
    fault_end = time.monotonic()
    loader.join()
    stop.set()
    sampler.join()
    waited = drain(run, "fault", timeout=90)
    result: LoadResult = loader.result  # type: ignore[assignment]
    stored = clicks_stored(run, "fault") - before_stored
    server_302 = access_log_count(log, prefix="/ref/", status="302") - before_302
    after_status = status_counts(log)
    fives = sum(n - before_status.get(code, 0) for code, n in after_status.items()
                if code.startswith("5"))
    steady = [q for t, q in samples if t < fault_start] or [0]
    threshold = max(max(steady), 50)
    peak = max((q for t, q in samples if t >= fault_start), default=0)
    caught = next((t for t, q in samples if t > fault_end and q <= threshold), None)
    catch_up = (caught - fault_end) if caught else None
    run.add("fault", f"{label}: answers, 5xx (wrk non-2xx, errors)",
            f"{result.requests:,}, {fives}", f"({result.non_2xx_3xx}, {result.errors})", "",
            "0 5xx", aim_met(fives == 0 and result.non_2xx_3xx == 0))
    run.add("fault", f"{label}: clicks stored / answered", f"{stored:,} / {server_302:,}", "",
            "", "equal", aim_met(stored == server_302))
    run.add("fault", f"{label}: fault took, s; queue peak", f"{fault_end - fault_start:.1f}",
            f"peak {peak:,} queued")
    if catch_up is None:
        run.add("fault", f"{label}: worker caught up after, s", "not during load",
                f"drain {waited:.1f} s after", "", "<= 10 s", aim_met(waited <= 10))
    else:
        run.add("fault", f"{label}: worker caught up after, s", f"{catch_up:.1f}",
                f"drain {waited:.1f} s after", "", "<= 10 s", aim_met(catch_up <= 10))


def bench_fault(run: Run) -> None:
    data_dir, env = demo_db(run, "fault")
    seconds = run.args.fault_seconds
    with run.server("fault", data_dir, env) as srv, run.worker("fault", data_dir, env):
        load(srv.url + REF_PATH, connections=16, seconds=2, headers={"User-Agent": CHROME})
        fault_phase(run, srv, "PG restart", run.pg.restart, seconds=seconds)
        fault_phase(run, srv, "Redis stall 3 s",
                    lambda: run.rds.client().execute_command("DEBUG", "SLEEP", "3"),
                    seconds=seconds)
    spool = data_dir / "spool"
    left = sum(1 for _ in spool.glob("*")) if spool.exists() else 0
    run.add("fault", "spool files left after the worker", str(left), "", "", "0",
            aim_met(left == 0))


# --- scale --------------------------------------------------------------------------------


def tree(pid: int | None) -> list[int]:
    """A process and its children (nginx's workers, granian's)."""
    if pid is None:
        return []
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True, check=False).stdout
    return [pid, *(int(p) for p in out.split())]


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used (all cores; /proc/stat, without idle
    and I/O wait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def bench_scale(run: Run) -> None:
    """Two app servers behind the shipped nginx against one behind the same site file, with
    where the two cores went during each (app servers, nginx, wrk, the worker, PostgreSQL,
    Redis): 2x needs twice the CPU for the app servers, which the others share with them."""
    binary = nginx_binary()
    if binary is None:
        raise SystemExit("nginx not installed")
    data_dir, env = demo_db(run, "scale")
    env = {**env, "BEHIND_PROXY": "1", "ALLOWED_HOSTS": "obmin.example,127.0.0.1"}
    a = run.args
    headers = {"User-Agent": CHROME, "Host": "obmin.example"}
    res: dict[str, list[LoadResult]] = {"one": [], "two": []}
    shares: dict[str, list[dict[str, float]]] = {"one": [], "two": []}
    with run.worker("scale", data_dir, env) as worker, \
            Server(data_dir=data_dir, workers=1, env=env) as first, \
            Server(data_dir=data_dir, workers=1, env=env) as second, \
            NginxSite(binary, upstreams=[f"127.0.0.1:{first.port}"],
                      static_root=data_dir / "static") as one, \
            NginxSite(binary, upstreams=[f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"],
                      static_root=data_dir / "static") as two:
        groups = {
            "app servers": lambda: first.worker_pids() + second.worker_pids(),
            "nginx": lambda: tree(one.process.pid if one.process else None)
            + tree(two.process.pid if two.process else None),
            "worker": lambda: [worker.process.pid] if worker.process else [],
            "PostgreSQL": run.pg.pids, "Redis": run.rds.pids}
        load(two.url + REF_PATH, connections=16, seconds=2, headers=headers)
        for _ in range(a.rounds):
            for label, site in (("one", one), ("two", two)):
                pids = {name: group() for name, group in groups.items()}
                before = {name: cpu_seconds(p) for name, p in pids.items()}
                wrk_before, started = client_cpu_seconds(), time.monotonic()
                busy_before = machine_busy_seconds()
                result = load(site.url + REF_PATH, connections=16, seconds=a.seconds,
                              headers=headers)
                took = time.monotonic() - started
                used = {name: (cpu_seconds(p) - before[name]) / took for name, p in pids.items()}
                used["wrk"] = (client_cpu_seconds() - wrk_before) / took
                # Everything else on the machine (other people's tests, this bench's driver).
                used["others"] = max((machine_busy_seconds() - busy_before) / took
                                     - sum(used.values()), 0.0)
                res[label].append(result)
                shares[label].append(used)
        drain(run, "scale")
    one_rps, two_rps = (med([r.rps for r in res[k]]) for k in ("one", "two"))
    ratio = med([t.rps / o.rps for t, o in zip(res["two"], res["one"], strict=True)])
    run.add("scale", "/ref/ via nginx: 2 servers vs 1, req/s, 16 conn (was 1.58)",
            f"{two_rps:,.0f}", f"{one_rps:,.0f}", f"{ratio:.2f}", ">= 1.7", aim_met(ratio >= 1.7))
    one_p99, two_p99 = (med([r.p99_ms for r in res[k]]) for k in ("one", "two"))
    run.add("scale", "/ref/ via nginx p99 ms: 2 servers vs 1", f"{two_p99:.1f}",
            f"{one_p99:.1f}", ratio_cell(two_p99, one_p99))
    errors = sum(r.errors + r.non_2xx_3xx for k in ("one", "two") for r in res[k])
    run.add("scale", "errors and non-3xx answers via nginx", str(errors), "", "", "0",
            aim_met(errors == 0))
    names = [*groups, "wrk", "others"]
    for label in ("two", "one"):
        cores = {name: med([u[name] for u in shares[label]]) for name in names}
        busy = sum(cores.values())
        run.add("scale", f"cores used, {label} server{'s' if label == 'two' else ''}: "
                + ", ".join(names),
                ", ".join(f"{cores[n]:.2f}" for n in names), f"sum {busy:.2f} of 2",
                f"{cores['app servers'] / max(busy, 1e-9):.2f}")
    app_one = med([u["app servers"] for u in shares["one"]])
    app_two = med([u["app servers"] for u in shares["two"]])
    run.add("scale", "app servers' cores, 2 vs 1", f"{app_two:.2f}", f"{app_one:.2f}",
            ratio_cell(app_two, app_one))
    # What the cores allow: with two servers every request still costs the one-server run's
    # CPU in every process of ours (nginx, wrk, worker, PostgreSQL, Redis, app), and only
    # what the machine's other load leaves is there to spend.
    ours_one = med([sum(v for k, v in u.items() if k != "others") for u in shares["one"]])
    others_two = med([u["others"] for u in shares["two"]])
    ceiling = (2 - others_two) / ours_one if ours_one else 0.0
    run.add("scale", "ratio the cores allow: (2 - others) / our cores with one server",
            f"{ceiling:.2f}", f"measured {ratio:.2f}", "", "", "")


def bench_rates(run: Run) -> None:
    """bench/rates_age.py in a process of its own (it sets Django up) on a fresh database."""
    data_dir, env = run.fresh("rates")
    seconds = 30 if run.args.quick else 60
    result = subprocess.run(
        [sys.executable, "-m", "bench.rates_age", "--seconds", str(seconds), "--data-dir",
         str(data_dir), "--json"], env=obmin_env(data_dir, env), cwd=ROOT,
        capture_output=True, text=True, check=False, timeout=seconds + 120)
    if result.returncode:
        raise SystemExit(f"bench.rates_age failed:\n{result.stdout}\n{result.stderr}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    target = figures["target"]
    run.add("rates", f"quote age at export p95, s (venue interval {figures['interval']} s)",
            f"{figures['p95']:.2f}", f"median {figures['median']:.2f}", "",
            f"< {target:.0f}", aim_met(figures["p95"] < target))
    run.add("rates", "samples exported / hidden", f"{figures['samples']}",
            f"{figures['hidden']} hidden")


BENCHES: dict[str, Callable[[Run], None]] = {
    "export": bench_export, "redirect": bench_redirect, "api": bench_api,
    "cabinet": bench_cabinet, "mixed": bench_mixed, "fault": bench_fault,
    "scale": bench_scale, "rates": bench_rates}


# --- report -------------------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) // 1024
    return f"{cpu}, {os.cpu_count()} cores, {mem / 1024:.1f} GiB RAM, {platform.platform()}"


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()

    dirty = " (working tree has uncommitted changes)" if git("status", "--porcelain") else ""
    return git("log", "-1", "--format=%h %s")[:90] + dirty


def render(rows: list[Row]) -> str:
    lines = ["| benchmark | figure | value | baseline (same run) | ratio | aim | met |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r.bench} | {r.figure} | {r.value} | {r.baseline} | {r.ratio} | {r.aim} | "
              f"{r.met} |" for r in rows]
    return "\n".join(lines) + "\n"


def _loads(averages: tuple[float, float, float]) -> str:
    # How busy the machine was besides the benchmark: other people's tests move every figure.
    return "/".join(f"{value:.1f}" for value in averages)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", default=NAMES,
                        help=f"some of {', '.join(NAMES)} (also ref_redirect, partner_api)")
    parser.add_argument("--quick", action="store_true",
                        help="short runs: 2 rounds of 3 s, 200,000 API and cabinet clicks, 20 s "
                             "mixed load")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5, help="per wrk run")
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="obmin serve's processes (default: as obmin serve, the cores + 1)")
    parser.add_argument("--api-clicks", type=int, default=1_000_000)
    parser.add_argument("--api-exchanges", type=int, default=20_000)
    parser.add_argument("--cabinet-clicks", type=int, default=1_000_000,
                        help="clicks of the generated year (exchanges: a twentieth)")
    parser.add_argument("--mixed-seconds", type=int, default=30)
    parser.add_argument("--fault-seconds", type=int, default=20)
    parser.add_argument("--keep-logs", action="store_true",
                        help="keep access and worker logs (else removed at the end)")
    parser.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.api_clicks = 2, 3, 200_000
        args.mixed_seconds, args.fault_seconds, args.cabinet_clicks = 20, 15, 200_000
    names = [ALIASES.get(n, n) for n in args.only]
    for name in names:
        if name not in BENCHES:
            parser.error(f"unknown benchmark {name}; one of {', '.join(NAMES)}")

    logs = Path(f"/tmp/obmin-bench-all-{os.getpid()}")
    logs.mkdir()
    started = time.monotonic()
    load_before = os.getloadavg()
    failed: list[str] = []
    with Postgres() as pg, Redis() as rds:
        run = Run(args, pg, rds, logs)
        for name in names:
            print(f"=== {name}", flush=True)
            t0 = time.monotonic()
            try:
                BENCHES[name](run)
            except (Exception, SystemExit) as error:  # noqa: BLE001 -- report, go on
                failed.append(name)
                run.add(name, "benchmark did not finish", f"{type(error).__name__}",
                        str(error).strip().splitlines()[-1][:80] if str(error) else "", "",
                        "", "NO")
            print(f"    ({time.monotonic() - t0:.0f} s)", flush=True)
    table = render(run.rows)
    print()
    print(table)
    took = time.monotonic() - started
    header = (f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
              f"Machine: {machine()}. Commit: {commit()}. Took {took / 60:.1f} min; "
              f"load average (1, 5, 15 min) {_loads(load_before)} before, "
              f"{_loads(os.getloadavg())} after "
              f"(`scripts/bench{' --quick' if args.quick else ''}`"
              f"{'' if names == NAMES else ' ' + ' '.join(names)}).\n\n"
              f"Stack: `obmin serve --workers {args.workers}` (access log on, to a file) and "
              f"`obmin worker`, our own PostgreSQL 15 cluster (port 5433) and Redis "
              f"(port 6380, no persistence); wrk on the same 2 cores. Baseline: `/health/live` "
              f"on the same server, interleaved rounds ({args.rounds} x {args.seconds} s), "
              f"medians. 'Clicks stored / answered' counts the server's 302 answers in its "
              f"access log (wrk drops requests in flight when it stops; the server still "
              f"answers them), after the worker drained the Redis stream.\n\n")
    if not args.no_write:
        title = "Full run (scripts/bench)" if names == NAMES else \
            f"Partial run: {', '.join(names)}"
        replace_section(ROOT / "bench" / "RESULTS.md", title, header + table)
    (logs / "rows.json").write_text(json.dumps([r.__dict__ for r in run.rows], indent=1))
    if not args.keep_logs:
        shutil.rmtree(logs, ignore_errors=True)
    else:
        print(f"logs in {logs}")
    return 1 if failed or any(r.met == "NO" for r in run.rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
