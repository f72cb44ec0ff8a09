"""`obmin rates import FILE`: the bulk rate feed (CSV or JSON), all rows or none."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError

from obmin.lib.commands import ObminCommand
from obmin.monitoring.services import RatesImportError, parse_rates_file, rates_import


class Command(ObminCommand):
    help = "Update rates, limits and reserves from a CSV or JSON file."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        sub = parser.add_subparsers(dest="action", required=True)
        feed = sub.add_parser("import", help="Import a rate file (.csv or .json).")
        feed.add_argument("file")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}") from None
        try:
            result = rates_import(rows=parse_rates_file(name=path.name, content=content))
        except RatesImportError as error:
            raise CommandError(f"{path.name}: {error.message}") from None
        self.stdout.write(result.summary)
