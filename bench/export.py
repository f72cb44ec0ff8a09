"""Rate export under monitors' polling: 500 directions, XML, against `obmin serve`.

Reports requests/s and p99 of `/service/export/xml/<code>` beside `/health/live` (a view that
touches neither database nor cache) on the same server, and beside the same bytes served as a
static file by nginx. Target: the export at >= 90% of the trivial view's throughput.

    .venv/bin/python -m bench.export [--seconds 10] [--connections 32] [--redis]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import httpx

from bench.harness import LoadResult, Server, free_port, load, obmin, temp_data_dir

DIRECTIONS = 500
CODE = "benchmon"


def build_data(data_dir: Path) -> None:
    """Migrates a throwaway SQLite database and bulk-creates 500 active directions."""
    obmin("migrate", "-v0", data_dir=data_dir)
    os.environ["OBMIN_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "obmin.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from obmin.exchange.models import Currency, Direction
    from obmin.partners.models import Partner

    currencies = Currency.objects.bulk_create(
        Currency(code=f"BENCH{n:02d}", title=f"Bench currency {n}", decimals=8,
                 reserve=Decimal("12345.678"), usd_price=Decimal(n + 1))
        for n in range(24))
    pairs = [(give, get) for give in currencies for get in currencies if give != get]
    Direction.objects.bulk_create(
        Direction(currency_give=give, currency_get=get, rate_give=give.usd_price,
                  rate_get=get.usd_price * Decimal("0.985"), min_amount=Decimal(10),
                  max_amount=Decimal(5000), fee_give_percent=Decimal("0.5") if n % 3 else 0,
                  flags="manual" if n % 7 == 0 else "", city="KIEV" if n % 50 == 0 else "")
        for n, (give, get) in enumerate(pairs[:DIRECTIONS]))
    user = get_user_model().objects.create(username="monitor@bench.example",
                                           email="monitor@bench.example")
    Partner.objects.create(user=user, ref_code=CODE, export_code=CODE)


NGINX_CONF = """
daemon off;
master_process on;
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
        location / {{ default_type application/xml; }}
    }}
}}
"""


def nginx_binary() -> str | None:
    path = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        path = shutil.which("nginx") or (
            "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    return path


class Nginx:
    """nginx in the foreground on a free loopback port, serving one file."""

    def __init__(self, binary: str, content: bytes) -> None:
        self.binary, self.content = binary, content
        self.tmp = Path(tempfile.mkdtemp(prefix="obmin-bench-nginx-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/export.xml"

    def __enter__(self) -> Nginx:
        (self.tmp / "www").mkdir()
        (self.tmp / "www" / "export.xml").write_bytes(self.content)
        # Workers may run as nobody: let them read the file.
        for path in (self.tmp, self.tmp / "www", self.tmp / "www" / "export.xml"):
            path.chmod(0o755)
        conf = self.tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=self.tmp, port=self.port))
        self.process = subprocess.Popen([self.binary, "-c", str(conf), "-p", str(self.tmp)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise SystemExit(f"nginx did not start: {(self.tmp / 'error.log').read_text()}")

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def best(results: list[LoadResult]) -> LoadResult:
    """The best of the rounds: noise on a shared machine only ever slows a run down."""
    return max(results, key=lambda r: r.rps)


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the server's processes have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def client_cpu_seconds() -> float:
    """CPU time used by finished child processes (wrk) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(pids: list[int], url: str, **kw: object) -> tuple[LoadResult, float, float]:
    """A load run, and the server's and wrk's CPU time per request (microseconds).

    CPU per request hardly moves when other work shares the machine; requests/s does. wrk runs
    on the same two cores, so what it spends reading a large body is lost to the server.
    """
    server, client = cpu_seconds(pids), client_cpu_seconds()
    result = load(url, **kw)  # type: ignore[arg-type]
    per = 1e6 / max(result.requests, 1)
    return (result, (cpu_seconds(pids) - server) * per,
            (client_cpu_seconds() - client) * per)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis", action="store_true",
                        help="serve with REDIS_URL=redis://127.0.0.1:6379/15 (else: file cache)")
    args = parser.parse_args()

    data_dir = temp_data_dir("export")
    env = {"REDIS_URL": "redis://127.0.0.1:6379/15", "CACHE_KEY_PREFIX":
           f"obmin-bench-{os.getpid()}"} if args.redis else {}
    try:
        build_data(data_dir)
        with Server(data_dir=data_dir, workers=2, env=env) as srv:
            export_url = f"{srv.url}/service/export/xml/{CODE}"
            body = httpx.get(export_url, timeout=30).content
            count = body.count(b"<item>")
            if count != DIRECTIONS:
                raise SystemExit(f"expected {DIRECTIONS} items, the export has {count}")
            kw = {"connections": args.connections, "seconds": args.seconds}
            load(f"{srv.url}/health/live", connections=args.connections, seconds=2)  # warm-up
            load(export_url, connections=args.connections, seconds=2)
            pids = srv.worker_pids()
            live, export = [], []
            live_cpu: list[tuple[float, float]] = []
            export_cpu: list[tuple[float, float]] = []
            # Interleaved, so that load from others hits both alike.
            for _ in range(args.rounds):
                result, server, client = measured(pids, f"{srv.url}/health/live", **kw)
                live.append(result)
                live_cpu.append((server, client))
                result, server, client = measured(pids, export_url, **kw)
                export.append(result)
                export_cpu.append((server, client))
            gzipped = load(export_url, headers={"Accept-Encoding": "gzip"}, **kw)
            conditional = load(export_url, headers={
                "If-None-Match": httpx.get(export_url).headers["ETag"]}, **kw)
        binary = nginx_binary()
        static = None
        if binary:
            with Nginx(binary, body) as nginx:
                load(nginx.url, connections=args.connections, seconds=2)
                static = best([load(nginx.url, **kw) for _ in range(args.rounds)])
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    live_best, export_best = best(live), best(export)
    cache_name = "Redis" if args.redis else "file cache"
    print(f"Rate export, {DIRECTIONS} directions, XML {len(body)} bytes, {cache_name}, "
          f"obmin serve --workers 2, wrk {args.connections} connections, "
          f"best of {args.rounds} x {args.seconds}s")
    print(live_best.line("/health/live"))
    print(export_best.line("export xml"))
    print(gzipped.line("export xml, gzip"))
    print(conditional.line("export xml, 304"))
    if static:
        print(static.line("nginx static file"))
    ratio = export_best.rps / live_best.rps
    print(f"export / live throughput:   {ratio:.2f} (target >= 0.90)")
    print(f"export / live p99:          {export_best.p99_ms / live_best.p99_ms:.2f}")
    print(f"export / live, median of rounds: throughput "
          f"{statistics.median(e.rps / li.rps for e, li in zip(export, live, strict=True)):.2f}")
    live_server = statistics.median(c[0] for c in live_cpu)
    export_server = statistics.median(c[0] for c in export_cpu)
    live_client = statistics.median(c[1] for c in live_cpu)
    export_client = statistics.median(c[1] for c in export_cpu)
    print(f"server CPU per request:     live {live_server:.0f} us, export {export_server:.0f} us "
          f"(live / export {live_server / export_server:.2f})")
    print(f"wrk CPU per request:        live {live_client:.0f} us, export {export_client:.0f} us")
    if static:
        print(f"export / nginx throughput:  {export_best.rps / static.rps:.2f}")
        print(f"export / nginx p99:         {export_best.p99_ms / static.p99_ms:.2f}")
    else:
        print("nginx not available: static-file comparison skipped")
    sys.exit(0 if ratio >= 0.9 else 1)


if __name__ == "__main__":
    main()
