"""`obmin stats rebuild [--since YYYY-MM-DD]`: rebuild the statistics rollups from the raw
rows now (the worker keeps them and reconciles them by itself)."""

from datetime import date
from typing import Any

from django.core.management.base import CommandError, CommandParser

from obmin.lib.commands import ObminCommand
from obmin.stats.services import rollups_rebuild


class Command(ObminCommand):
    help = "Statistics rollups."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rebuild = sub.add_parser(
            "rebuild", help="Rebuild the click and exchange rollups from the raw rows.")
        rebuild.add_argument("--since", metavar="YYYY-MM-DD", default=None,
                             help="Only the UTC days from this one on (default: all, dropped "
                                  "and built again).")

    def handle(self, *args: Any, **options: Any) -> None:
        since = None
        if options["since"] is not None:
            try:
                since = date.fromisoformat(options["since"])
            except ValueError:
                raise CommandError("--since must be a day as YYYY-MM-DD") from None
        done = rollups_rebuild(since=since)
        kept = (f"; {done.archived_days} archived days kept as they were"
                if done.archived_days else "")
        if since is None:
            self.stdout.write(f"Rebuilt every rollup: {done.click_hours} hourly click rows and "
                              f"{done.exchange_hours} hourly exchange rows written{kept}.")
        else:
            self.stdout.write(f"Rebuilt the rollups since {since.isoformat()}: "
                              f"{done.click_hours} click hours and {done.exchange_hours} "
                              f"exchange hours differed from the raw rows and were "
                              f"rewritten{kept}.")
