"""`obmin ledger check`: recompute every balance; exit non-zero naming each mismatch; name
the partners who owe (a balance below zero is no mismatch)."""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from obmin.lib.commands import ObminCommand
from obmin.rewards.selectors import partners_owing
from obmin.rewards.services import ledger_check


class Command(ObminCommand):
    help = "Partner ledger maintenance."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("check", help="Recompute balances from the ledger, exchanges and payouts.")

    def handle(self, *args: Any, **options: Any) -> None:
        problems = ledger_check()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} mismatch(es) in the ledger")
        self.stdout.write("Ledger OK: every balance matches its entries")
        for partner_id, balance in partners_owing():
            self.stdout.write(f"partner {partner_id} owes {-balance}: rewards reversed after "
                              "they were paid out or requested (later rewards fill it first)")
