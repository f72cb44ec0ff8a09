"""E-mail through the background worker: a request never waits for (or fails on) SMTP."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django_tasks import task


@task()
def send_email(*, subject: str, body: str, to: list[str]) -> None:
    """A queued e-mail; `obmin worker` sends it (a failure is kept on the task's result)."""
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)


def email_on_commit(*, subject: str, body: str, to: list[str]) -> None:
    """Queues the e-mail once the current transaction commits: a rolled-back change tells
    nobody, and a failure to queue never undoes the change itself."""
    transaction.on_commit(lambda: send_email.enqueue(subject=str(subject), body=str(body),
                                                     to=list(to)), robust=True)
