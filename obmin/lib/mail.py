"""E-mail through the background worker: a request never waits for (or fails on) SMTP.

A send that fails (SMTP down, refused, a misconfigured backend) is tried again by the worker
after 1, 4, 16, ... minutes (at most 4 hours apart), `EMAIL_SEND_ATTEMPTS` times in all; then
the task is kept as failed (the admin's task results, `obmin_tasks_failed`). Every attempt is
counted in `/metrics` as `obmin_emails_total{outcome=sent|retry|failed}`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from obmin.lib import metrics

logger = logging.getLogger("obmin.mail")

RETRY_FIRST = timedelta(minutes=1)
RETRY_LONGEST = timedelta(hours=4)


def retry_delay(attempt: int) -> timedelta:
    """How long to wait after failed attempt number `attempt` (1, 2, ...)."""
    return min(RETRY_FIRST * 4 ** min(attempt - 1, 8), RETRY_LONGEST)  # 4**8 min > 4 h


def email_send_now(*, subject: str, body: str, to: list[str]) -> None:
    """Sends through the configured backend, from DEFAULT_FROM_EMAIL; raises on failure.

    The one place a message leaves: the worker's task and `obmin mail test` both call it.
    """
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=False)


@task()
def send_email(*, subject: str, body: str, to: list[str], attempt: int = 1) -> None:
    """A queued e-mail; `obmin worker` sends it, and queues it again after a failure."""
    try:
        email_send_now(subject=subject, body=body, to=to)
    except Exception as error:
        # Without a queue that can wait (TASKS_BACKEND=immediate) there is no later try.
        last = (attempt >= settings.EMAIL_SEND_ATTEMPTS
                or not send_email.get_backend().supports_defer)
        metrics.count("obmin_emails", outcome="failed" if last else "retry")
        if last:
            logger.error("e-mail %r to %s failed (attempt %d, the last): %s",
                         subject, ", ".join(to), attempt, error)
            raise  # the task is kept as failed, with the error, for the operator
        delay = retry_delay(attempt)
        logger.warning("e-mail %r to %s failed (attempt %d of %d), tried again in %d s: %s",
                       subject, ", ".join(to), attempt, settings.EMAIL_SEND_ATTEMPTS,
                       delay.total_seconds(), error)
        send_email.using(run_after=timezone.now() + delay).enqueue(
            subject=subject, body=body, to=to, attempt=attempt + 1)
        return
    metrics.count("obmin_emails", outcome="sent")


def email_on_commit(*, subject: str, body: str, to: list[str]) -> None:
    """Queues the e-mail once the current transaction commits: a rolled-back change tells
    nobody, and a failure to queue never undoes the change itself."""
    transaction.on_commit(lambda: send_email.enqueue(subject=str(subject), body=str(body),
                                                     to=list(to)), robust=True)
