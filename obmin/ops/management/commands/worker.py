"""`obmin worker [--burst]`: background work (e-mails, click ingestion, poll flushes...)."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from obmin.lib.commands import ObminCommand
from obmin.ops.worker import ObminWorker, duties


def lower_priority(nice: int) -> None:
    """Gives the worker `nice` steps less CPU priority (WORKER_NICE): on cores it shares with
    `obmin serve`, a click's redirect comes before writing it. Only ever lowered (an
    unprivileged process may not raise it, and need not)."""
    if nice > 0:
        os.nice(min(nice, 19))


class Command(ObminCommand):
    help = ("Run background work: queued tasks and the periodic duties. With --burst, run "
            "everything that is due now once, then exit.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--burst", action="store_true",
                            help="Run every duty once and every ready task, then exit.")
        parser.add_argument("--interval", type=float, default=1.0,
                            help="Seconds to wait when there is nothing to do (default 1).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["interval"] <= 0:
            raise CommandError("--interval must be greater than 0.")
        logging.getLogger("obmin.worker").setLevel(logging.INFO)
        worker = ObminWorker(duties=duties(), interval=options["interval"],
                             burst=options["burst"],
                             worker_id=f"{socket.gethostname()}-{os.getpid()}"[:64])
        if not options["burst"]:
            lower_priority(settings.WORKER_NICE)
            worker.configure_signals()
            self.stdout.write(f"Worker {worker.worker_id} running; Ctrl+C stops it.")
        worker.run()
