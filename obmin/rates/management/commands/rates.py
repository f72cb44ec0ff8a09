"""`obmin rates import FILE` (the bulk rate feed), `obmin rates sync` (one round of the market
sync by hand; exit 1 with one line naming the sources that failed in it) and
`obmin rates explain DIRECTION` (a formula step by step)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from obmin.exchange.rate_feed import RatesImportError, parse_rates_file, rates_import
from obmin.lib.commands import ObminCommand
from obmin.rates.models import MarketRate, RateSource
from obmin.rates.selectors import direction_named, market_rate_explain
from obmin.rates.services import RatesError, rates_round


class Command(ObminCommand):
    help = "Rates: import a rate file, sync market rates, explain a direction's formula."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        feed = sub.add_parser("import", help="Import a rate file (.csv or .json).")
        feed.add_argument("file")
        sub.add_parser("sync", help="Poll every enabled source now and recompute market rates.")
        explain = sub.add_parser("explain", help="Show a direction's formula step by step.")
        explain.add_argument("direction", help="its id, or FROM-TO codes (BTC-USDTTRC20)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "sync":
            done = rates_round(force=True)
            failed = done.failed
            for source in RateSource.objects.filter(is_enabled=True):
                if source.name not in done.polled:
                    state = "not polled: no enabled formula reads it"
                else:
                    failure = failed.get(source.name)
                    state = f"error: {failure}" if failure else "ok"
                self.stdout.write(f"{source.name}: {state}")
            for market in MarketRate.objects.filter(is_enabled=True).select_related(
                    "direction__currency_give", "direction__currency_get"):
                state = f"hidden: {market.problem}" if market.problem else "ok"
                self.stdout.write(f"{market.direction}: {state}")
            if failed:
                # Non-zero for cron (contract §6), once the round did what it could.
                raise CommandError("rates sync: {} failed: {}".format(
                    "1 source" if len(failed) == 1 else f"{len(failed)} sources",
                    "; ".join(f"{name} ({failure})" for name, failure in failed.items())))
            return
        if action == "explain":
            try:
                direction = direction_named(options["direction"])
            except RatesError as error:
                raise CommandError(error.message) from None
            for line in market_rate_explain(direction):
                self.stdout.write(line)
            return
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
