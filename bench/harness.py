"""Benchmark harness: starts the production server (`obmin serve`) and drives it with wrk.

Every benchmark compares its endpoint with `/health/live` on the same server in the same run,
and reports ratios: the machine is small and shared, so absolute numbers move, ratios much less.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
OBMIN = str(Path(sys.executable).with_name("obmin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_wrk() -> str:
    """wrk from Debian's packages: a C load generator that does not steal the server's CPU."""
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False,
                       stdout=subprocess.DEVNULL, env={**os.environ,
                                                       "DEBIAN_FRONTEND": "noninteractive"})
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("wrk is needed: apt-get install wrk")
    return path


def obmin_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "OBMIN_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE":
           "obmin.settings"}
    env.pop("DEBUG", None)
    env.update(extra or {})
    return env


def obmin(*args: str, data_dir: Path, env: dict[str, str] | None = None) -> str:
    """Runs an `obmin` command against the benchmark's data directory."""
    result = subprocess.run([OBMIN, *args], env=obmin_env(data_dir, env), cwd=ROOT,
                            capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"obmin {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """Ends a process started in its own session, and its children: TERM, then KILL."""
    if process and process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)


@dataclass
class Server:
    """`with Server(data_dir=..., workers=2) as srv:` serves on srv.url until the block ends."""

    data_dir: Path
    workers: int = 2
    env: dict[str, str] | None = None
    # Where the server's stdout (its access log, one line per request) goes; None: /dev/null.
    log: Path | None = None
    process: subprocess.Popen | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.port = free_port()
        self.process = subprocess.Popen(
            [OBMIN, "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers)],
            env=obmin_env(self.data_dir, self.env), cwd=ROOT,
            stdout=self.log.open("ab") if self.log else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self.log else subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/health/live", timeout=1).status_code == 200:
                    return self
            if self.process.poll() is not None:
                raise SystemExit("obmin serve exited early")
            time.sleep(0.2)
        raise SystemExit("obmin serve did not answer within 60 s")

    def __exit__(self, *exc: object) -> None:
        stop(self.process)

    def worker_pids(self) -> list[int]:
        """The server process and its children (granian workers), for memory readings."""
        assert self.process
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
                             capture_output=True, text=True, check=False).stdout
        return [self.process.pid, *(int(p) for p in out.split())]


def peak_rss_kib(pid: int) -> int:
    """VmHWM: the highest resident set size the process ever had."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) if match else 0


@dataclass
class LoadResult:
    url: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    non_2xx_3xx: int

    def line(self, label: str) -> str:
        return (f"{label:<28} {self.rps:>9.0f} req/s  p50 {self.p50_ms:6.2f} ms  "
                f"p99 {self.p99_ms:6.2f} ms  requests {self.requests}  errors {self.errors}  "
                f"non-2xx/3xx {self.non_2xx_3xx}")


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def load(url: str, *, connections: int = 32, seconds: int = 10, threads: int = 2,
         headers: dict[str, str] | None = None) -> LoadResult:
    """Drives `url` with wrk (keep-alive connections) and parses its --latency report."""
    cmd = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s|m)\b", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", out)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_ok = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return LoadResult(url, rps, _ms(*p50.groups()) if p50 else 0.0,
                      _ms(*p99.groups()) if p99 else 0.0, requests, errors,
                      int(non_ok.group(1)) if non_ok else 0)


def temp_data_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"obmin-bench-{prefix}-"))
