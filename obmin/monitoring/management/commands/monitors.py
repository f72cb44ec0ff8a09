"""`obmin monitors flush`: copy the cached poll counts of monitors into the database now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from obmin.lib.commands import ObminCommand
from obmin.monitoring.services import monitor_polls_flush


class Command(ObminCommand):
    help = "Monitoring sites' poll statistics."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("flush", help="Write the cached poll counts to the database.")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = monitor_polls_flush()
        self.stdout.write(f"Flushed poll counts: {rows} row(s) written.")
