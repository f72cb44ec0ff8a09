"""`obmin rates import FILE`: the bulk rate feed (CSV or JSON), all rows or none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from obmin.exchange.rate_feed import RatesImportError, parse_rates_file, rates_import
from obmin.lib.commands import ObminCommand


class Command(ObminCommand):
    help = "Update rates, limits and reserves from a CSV or JSON file."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        feed = sub.add_parser("import", help="Import a rate file (.csv or .json).")
        feed.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
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
