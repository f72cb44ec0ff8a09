"""`obmin serve [--bind HOST:PORT] [--workers N] [--blocking-threads N]`: the production server
(granian, WSGI)."""

from __future__ import annotations

import os
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser

from obmin.lib.commands import ObminCommand


def default_workers() -> int:
    """One process more than the cores. A process has one request thread, which idles while
    its request waits on Redis (the click's XADD) or PostgreSQL; the extra process runs then.
    Measured on 2 cores, /ref/ beside /health/live, worker ingesting, interleaved (bench/
    RESULTS.md): 2 processes 0.89 of /health/live's requests/s, 3 processes 1.00, 4 processes
    1.07; /health/live's own rate and the export's against nginx did not move beyond noise.
    A second thread per process instead cost the export a fifth (see --blocking-threads)."""
    return (os.cpu_count() or 1) + 1


class Command(ObminCommand):
    help = "Serve Obmin with granian (WSGI); DATABASE_URL and REDIS_URL are used as set."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT")
        parser.add_argument("--workers", type=int, default=0,
                            help="Worker processes (default: the CPU count plus one).")
        # One request thread per worker process. A second lets a process serve while a request
        # waits on PostgreSQL or Redis, but the two then hand the GIL over on every request:
        # measured side by side on one stack, /ref/ went from 0.77-0.78 to 0.80-0.85 of
        # /health/live's requests/s, the rate export (the busiest path) from 3.23 to 2.60.
        parser.add_argument("--blocking-threads", type=int, default=1,
                            help="Request threads per worker process (default: 1).")

    def handle(self, *args: Any, **options: Any) -> None:
        host, sep, port = options["bind"].rpartition(":")
        if not sep or not port.isdigit():
            raise CommandError(f"--bind must be HOST:PORT, got {options['bind']!r}")
        workers = options["workers"] or default_workers()
        if workers < 1:
            raise CommandError("--workers must be at least 1")
        call_command("collectstatic", interactive=False, verbosity=0)
        from granian.constants import Interfaces
        from granian.server import Server

        self.stdout.write(f"Serving on http://{host.strip('[]')}:{port} with {workers} worker(s)")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "obmin.settings")
        Server(
            "obmin.wsgi:application",
            address=host.strip("[]") or "127.0.0.1",
            port=int(port),
            interface=Interfaces.WSGI,
            workers=workers,
            blocking_threads=options["blocking_threads"],
            # The access log is obmin's own (obmin.lib.accesslog: secrets scrubbed).
            log_access=False,
        ).serve()
