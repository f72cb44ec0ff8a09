"""The shipped deployment kit (`deploy/`) run for real in tests and benchmarks: nginx with the
very site file operators install, its host names, ports and paths moved to temporary ones.

`site_config` rewrites only the lines an operator is told to change (addresses, certificate,
paths) and fails when one of them is no longer in the file, so the kit and its test cannot
drift apart.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

DEPLOY_DIR = Path(__file__).resolve().parents[2] / "deploy"
NGINX_SITE = DEPLOY_DIR / "nginx" / "obmin.conf"
SYSTEMD_DIR = DEPLOY_DIR / "systemd"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def nginx_binary() -> str | None:
    """nginx's path, or None (scripts/test installs it with apt where it can)."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None


def _replace(text: str, pattern: str, replacement: str, *, count: int | None = None) -> str:
    """Every match replaced; exactly `count` of them, or at least one without it."""
    new, found = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if found != count if count is not None else not found:
        raise AssertionError(f"{NGINX_SITE.name}: expected {count or 'some'} line(s) matching "
                             f"{pattern!r}, found {found}")
    return new


def site_config(*, upstreams: Sequence[str], http_port: int, https_port: int, cert: Path,
                key: Path, static_root: Path, webroot: Path) -> str:
    """deploy/nginx/obmin.conf with its servers, ports, certificate and paths replaced."""
    text = NGINX_SITE.read_text()
    servers = "".join(f"    server {address} max_fails=3 fail_timeout=10s;\n"
                      for address in upstreams)
    text = _replace(text, r"^    server 127\.0\.0\.1:800[12] .*\n", "", count=2)
    text = _replace(text, r"^(upstream obmin_app \{\n)", rf"\g<1>{servers}", count=1)
    text = _replace(text, r"^    listen \[::\]:.*\n", "", count=2)
    text = _replace(text, r"^    listen 80;", f"    listen 127.0.0.1:{http_port};", count=1)
    text = _replace(text, r"^    listen 443 ssl http2;",
                    f"    listen 127.0.0.1:{https_port} ssl http2;", count=1)
    text = _replace(text, r"^    ssl_certificate .*;", f"    ssl_certificate {cert};", count=1)
    text = _replace(text, r"^    ssl_certificate_key .*;", f"    ssl_certificate_key {key};",
                    count=1)
    text = _replace(text, r"/etc/nginx/obmin_proxy\.conf",
                    str(DEPLOY_DIR / "nginx" / "obmin_proxy.conf"))
    text = _replace(text, r"/srv/obmin/deploy/nginx", str(DEPLOY_DIR / "nginx"), count=1)
    text = _replace(text, r"/srv/obmin/data/static/", f"{static_root}/", count=1)
    return _replace(text, r"/var/www/html", str(webroot))


MAIN_CONF = """{user}daemon off;
master_process on;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include {mime_types};
    default_type application/octet-stream;
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/obmin.conf;
}}
"""


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for obmin.example (openssl)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=obmin.example", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


class NginxSite:
    """nginx in the foreground with the shipped site, in front of `upstreams`."""

    def __init__(self, binary: str, *, upstreams: Sequence[str], static_root: Path) -> None:
        self.binary = binary
        self.tmp = Path(tempfile.mkdtemp(prefix="obmin-nginx-"))
        self.http_port, self.https_port = free_port(), free_port()
        cert, key = self_signed(self.tmp)
        (self.tmp / "www").mkdir()
        self.site = site_config(upstreams=upstreams, http_port=self.http_port,
                                https_port=self.https_port, cert=cert, key=key,
                                static_root=static_root, webroot=self.tmp / "www")
        (self.tmp / "obmin.conf").write_text(self.site)
        mime_types = next((path for path in (Path("/etc/nginx/mime.types"),
                                             Path(binary).parent.parent / "conf/mime.types")
                           if path.exists()), None)
        (self.tmp / "nginx.conf").write_text(MAIN_CONF.format(
            tmp=self.tmp, mime_types=mime_types or "/etc/nginx/mime.types",
            # As root, nginx's workers would run as nobody, who may not enter the test's
            # private directories.
            user="user root;\n" if os.geteuid() == 0 else ""))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def command(self, *extra: str) -> list[str]:
        return [self.binary, "-c", str(self.tmp / "nginx.conf"), "-p", str(self.tmp), *extra]

    def test(self) -> subprocess.CompletedProcess[str]:
        """`nginx -t` on the configuration."""
        return subprocess.run(self.command("-t"), capture_output=True, text=True, check=False)

    def __enter__(self) -> NginxSite:
        self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        error_log = self.tmp / "error.log"
        raise RuntimeError("nginx did not start: "
                           + (error_log.read_text() if error_log.exists() else "no error log"))

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def unverified_tls() -> ssl.SSLContext:
    """A client context for the self-signed certificate of `NginxSite`."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    """A Redis of the test's own on a free port (never the shared one): it may be stopped."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="obmin-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            # An append-only file, as production should keep the click stream: stopped and
            # started again, it still holds the clicks not yet written.
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.tmp)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """Shut down (SIGTERM): its port refuses connections until `start` again."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def database_url(settings_dict: Mapping[str, object]) -> str:
    """A DATABASE_URL for other processes to reach this PostgreSQL database (a test's)."""
    user = quote(str(settings_dict.get("USER") or "postgres"))
    password = settings_dict.get("PASSWORD")
    auth = f"{user}:{quote(str(password))}" if password else user
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{settings_dict['NAME']}"


def postgres_bin_dir() -> Path | None:
    """The directory of PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup)."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _as_postgres(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: as the postgres user then.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PostgresCluster:
    """A PostgreSQL cluster of the test's own in a temporary directory, on a free port: it may
    be stopped, killed or copied (`replica`) without touching the shared one."""

    def __init__(self, bin_dir: Path, *, data: Path | None = None) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="obmin-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.tmp, "postgres", "postgres")
        self.data = data or self.tmp / "data"

    def run(self, program: str, *args: str, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(_as_postgres([str(self.bin_dir / program), *args]),
                              capture_output=True, text=True, check=check, timeout=timeout,
                              cwd=self.tmp)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                 "--no-sync", "-E", "UTF8", "--locale=C")
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.tmp} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c wal_level=replica -c max_wal_senders=4 -c hot_standby=on")
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.tmp / "log"), "-o", options,
                 "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def replica(self) -> PostgresCluster:
        """A streaming replica of this cluster (pg_basebackup), not started yet."""
        copy = PostgresCluster(self.bin_dir)
        copy.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                 "-D", str(copy.data), "-R", "-X", "stream", "--checkpoint=fast")
        return copy

    def sql(self, statement: str, database: str = "postgres") -> str:
        result = self.run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                          "-d", database, "-Atc", statement)
        return result.stdout.strip()

    def __enter__(self) -> PostgresCluster:
        if not (self.data / "PG_VERSION").exists():
            self.init()
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop("immediate")
        shutil.rmtree(self.tmp, ignore_errors=True)
