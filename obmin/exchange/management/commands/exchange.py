"""`obmin exchange status <id> <status>`: the same status change as the admin's actions."""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from obmin.exchange.models import ExchangeStatus
from obmin.exchange.services import ExchangeError, exchange_set_status
from obmin.lib.commands import ObminCommand


class Command(ObminCommand):
    help = "Manage exchanges."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        status = sub.add_parser("status", help="Move an exchange to a new status.")
        status.add_argument("exchange_id", type=int)
        status.add_argument("status", choices=ExchangeStatus.values)
        status.add_argument("--note", default="")
        status.add_argument("--txid", default="",
                            help="the customer's payment (paid, received) or the payout's "
                                 "(success) transaction id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            exchange = exchange_set_status(exchange_id=options["exchange_id"],
                                           status=options["status"], actor="cli",
                                           note=options["note"], txid=options["txid"])
        except ExchangeError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Exchange #{exchange.pk} is now {exchange.status}")
