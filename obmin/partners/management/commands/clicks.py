"""`obmin clicks archive [--older-than-days N]`: fold old clicks into daily totals.
`obmin clicks partitions`: create the coming months' click partitions now (PostgreSQL; the
worker does it every hour)."""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from obmin.lib.commands import ObminCommand
from obmin.partners.partitions import click_partitions_ensure
from obmin.partners.program import program_settings
from obmin.partners.services import clicks_archive


class Command(ObminCommand):
    help = "Manage partners' clicks."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        archive = sub.add_parser(
            "archive", help="Fold clicks older than N days into daily totals and delete them.")
        archive.add_argument("--older-than-days", type=int, default=None,
                             help="Default: the program setting (0 there means never).")
        sub.add_parser("partitions",
                       help="Create this month's and the next months' click partitions "
                            "(PostgreSQL).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "partitions":
            created = click_partitions_ensure()
            self.stdout.write(f"Created {created} click partitions.")
            return
        days = options["older_than_days"]
        if days is None:
            days = program_settings().archive_after_days
            if days == 0:
                self.stdout.write("Archiving is off (program setting: 0 days); nothing to do.")
                return
        if days < 1:
            raise CommandError("--older-than-days must be at least 1.")
        result = clicks_archive(older_than_days=days)
        dropped = (f"; {result.partitions} monthly partitions dropped" if result.partitions
                   else "")
        self.stdout.write(f"Archived {result.clicks} clicks into {result.days} partner-days "
                          f"(clicks older than {days} days{dropped}).")
