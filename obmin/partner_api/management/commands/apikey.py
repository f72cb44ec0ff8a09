"""`obmin apikey create <email> [--test] [--methods m1,m2]`: prints `login <LOGIN>` (API v1's
`API-LOGIN`), then the new key (shown this once) as the last line."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from obmin.lib.commands import ObminCommand
from obmin.partner_api.services import ApiKeyError, apikey_create
from obmin.partner_api.v1.catalog import parse_method_set
from obmin.partners.models import Partner


class Command(ObminCommand):
    help = "Manage partners' API keys."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create an API key; prints it (shown once).")
        create.add_argument("email")
        create.add_argument("--test", action="store_true", help="A sandbox key.")
        create.add_argument("--name", default="")
        create.add_argument("--methods", default="",
                            help="API v1 methods the key may call, comma-separated "
                                 "(default: all).")
        create.add_argument("--allow-ip", action="append", default=[], dest="allowed_ips",
                            help="An IP or CIDR network allowed to use the key (repeatable).")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip()
        partner = (Partner.objects.select_related("user")
                   .filter(user__email__iexact=email).first())
        if partner is None:
            raise CommandError(f"No partner with e-mail {email}.")
        try:
            key, raw_key = apikey_create(partner=partner, name=options["name"],
                                         test=options["test"],
                                         allowed_ips=options["allowed_ips"],
                                         methods=parse_method_set(options["methods"]))
        except ApiKeyError as error:
            raise CommandError(error.message) from None
        kind = "test (sandbox)" if key.is_test else "live"
        self.stdout.write(f"Created {kind} API key #{key.pk} for {partner.email}; "
                          "it is shown only this once:")
        self.stdout.write(f"login {key.login}")
        self.stdout.write(raw_key)
