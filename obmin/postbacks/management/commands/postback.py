"""`obmin postback add <email> <url> [--events e1,e2] [--method GET|POST]`: adds a postback
to the partner and prints the partner's signing secret as the last line (contract §6)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from obmin.lib.commands import ObminCommand
from obmin.partners.models import Partner
from obmin.postbacks.models import DEFAULT_EVENTS, Event
from obmin.postbacks.services import PostbackError, postback_create, postback_secret


class Command(ObminCommand):
    help = "Manage partners' postbacks (server-to-server notifications)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Add a postback URL; prints the signing secret.")
        add.add_argument("email")
        add.add_argument("url", help="GET: a template with macros such as {sub1} {reward}; "
                                     "POST: where the signed JSON goes.")
        add.add_argument("--events", default=",".join(DEFAULT_EVENTS),
                         help=f"Comma-separated, of: {', '.join(Event.values)} "
                              "(default: all but click).")
        add.add_argument("--method", default="GET", help="GET (default) or POST.")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip()
        partner = (Partner.objects.select_related("user")
                   .filter(user__email__iexact=email).first())
        if partner is None:
            raise CommandError(f"No partner with e-mail {email}.")
        try:
            postback = postback_create(partner=partner, url=options["url"],
                                       method=options["method"], events=options["events"])
        except PostbackError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Added postback #{postback.pk} for {partner.email}: "
                          f"{postback.method} {postback.url} on {', '.join(postback.events)}.")
        self.stdout.write("Signing secret (X-Obmin-Signature: sha256=HMAC-SHA256 of the body; "
                          "X-Obmin-Signature-V2: t=<unix>,v1=HMAC-SHA256 of "
                          "t.delivery_id.body; the URL for GET):")
        self.stdout.write(postback_secret(partner=partner))
