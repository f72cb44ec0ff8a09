"""`obmin mail test <address> [--queue]`: sends a test message the way partners' e-mails go."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.core.validators import validate_email
from django.utils import timezone

from obmin.lib.commands import ObminCommand
from obmin.lib.mail import email_send_now, send_email
from obmin.lib.site import public_url


class Command(ObminCommand):
    help = "E-mail settings: `obmin mail test <address>` sends a test message."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        test = sub.add_parser("test", help="Send a test message to an address, now (through "
                                           "the same backend and sender as every e-mail).")
        test.add_argument("address")
        test.add_argument("--queue", action="store_true",
                          help="Queue it for `obmin worker` instead, as partners' e-mails go.")

    def handle(self, *args: Any, **options: Any) -> None:
        address = options["address"].strip()
        try:
            validate_email(address)
        except ValidationError:
            raise CommandError(f"not an e-mail address: {address!r}") from None
        subject = "Obmin test message"
        body = (f"This test message was sent by `obmin mail test` from {public_url('/')} at "
                f"{timezone.now():%Y-%m-%d %H:%M:%S} UTC.\n")
        if options["queue"]:
            send_email.enqueue(subject=subject, body=body, to=[address])
            self.stdout.write(f"Test message to {address} queued for obmin worker.")
            return
        try:
            email_send_now(subject=subject, body=body, to=[address])
        except Exception as error:  # the operator needs the reason, whatever it is
            reason = " ".join(str(error).split()) or type(error).__name__
            raise CommandError(f"sending to {address} failed ({settings.EMAIL_BACKEND}): "
                               f"{type(error).__name__}: {reason}") from None
        self.stdout.write(f"Test message sent to {address} through {settings.EMAIL_BACKEND}.")
