"""`obmin partner create <email> --password <p>`: prints the referral code last."""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from obmin.lib.commands import ObminCommand
from obmin.partners.services import PartnerError, partner_create


class Command(ObminCommand):
    help = "Manage partners."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a partner; prints its referral code.")
        create.add_argument("email")
        create.add_argument("--password", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            partner = partner_create(email=options["email"], password=options["password"])
        except PartnerError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Partner {partner.email} created; referral link {partner.referral_link}")
        self.stdout.write(partner.ref_code)
