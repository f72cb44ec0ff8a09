"""E-mail through the background worker: a request never waits for (or fails on) SMTP."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage, send_mail
from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend
from django.db import transaction
from django_tasks import task

from obmin.lib.logscrub import scrub


@task()
def send_email(*, subject: str, body: str, to: list[str]) -> None:
    """A queued e-mail; `obmin worker` sends it (a failure is kept on the task's result)."""
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)


def email_on_commit(*, subject: str, body: str, to: list[str]) -> None:
    """Queues the e-mail once the current transaction commits: a rolled-back change tells
    nobody, and a failure to queue never undoes the change itself."""
    transaction.on_commit(lambda: send_email.enqueue(subject=str(subject), body=str(body),
                                                     to=list(to)), robust=True)


class ConsoleBackend(DjangoConsoleBackend):
    """Django's console backend (e-mails printed to the worker's output, when no SMTP is set),
    with secrets and tokens masked (`logscrub.scrub`) unless DEBUG: outside development that
    output is a log, and a password-reset or sign-up link in it is someone's account."""

    def write_message(self, message: EmailMessage) -> None:
        if settings.DEBUG:
            super().write_message(message)
            return
        # The plain fields, not the MIME form (whose encodings could split a token in two).
        text = (f"Subject: {message.subject}\nFrom: {message.from_email}\n"
                f"To: {', '.join(message.to)}\n\n{message.body}")
        self.stream.write(f"{scrub(text)}\n{'-' * 79}\n")
