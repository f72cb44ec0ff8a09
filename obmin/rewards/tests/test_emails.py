"""Partners hear by e-mail about credited rewards and every payout change, once committed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from obmin.exchange.services import exchange_set_status
from obmin.rewards.services import payout_cancel, payout_mark_paid, payout_refuse, payout_request

pytestmark = pytest.mark.django_db


def test_credited_reward_is_mailed_after_commit(referred, mailoutbox,
                                                django_capture_on_commit_callbacks):
    exchange = referred("1000")
    with django_capture_on_commit_callbacks(execute=True):
        exchange_set_status(exchange_id=exchange.pk, status="success")
        assert mailoutbox == []  # nothing leaves before the transaction commits
    [mail] = mailoutbox
    assert mail.to == ["alice@example.com"]
    assert mail.subject == "Reward credited: 4.00 USD"
    assert f"Exchange #{exchange.pk}" in mail.body


def test_rolled_back_credit_sends_nothing(referred, alice, mailoutbox,
                                          django_capture_on_commit_callbacks):
    exchange = referred("1000")
    with (django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError),
          transaction.atomic()):
        exchange_set_status(exchange_id=exchange.pk, status="success")
        raise RuntimeError("something later in the transaction fails")
    assert mailoutbox == []
    assert not alice.ledger_entries.exists()


def test_reversal_is_not_mailed(referred, mailoutbox, django_capture_on_commit_callbacks):
    exchange = referred("1000")
    exchange_set_status(exchange_id=exchange.pk, status="success")
    with django_capture_on_commit_callbacks(execute=True):
        exchange_set_status(exchange_id=exchange.pk, status="error")
    assert mailoutbox == []


@pytest.mark.parametrize(("change", "subject", "line"), [
    (lambda p, alice: payout_mark_paid(payout_id=p.pk), "paid", None),
    (lambda p, alice: payout_refuse(payout_id=p.pk, reason="Wrong address"), "refused",
     "Reason: Wrong address"),
    (lambda p, alice: payout_cancel(partner=alice, payout_id=p.pk), "cancelled by the partner",
     "4.00 USD are back on your balance."),
])
def test_every_payout_change_is_mailed(referred, alice, usdt_method, program, mailoutbox,
                                       django_capture_on_commit_callbacks, change, subject,
                                       line):
    program.min_payout = Decimal(1)
    program.save()
    exchange_set_status(exchange_id=referred("1000").pk, status="success")
    with django_capture_on_commit_callbacks(execute=True):
        payout = payout_request(partner=alice, method_id=usdt_method.pk, account="TXabc")
        change(payout, alice)
    requested, changed = mailoutbox
    assert requested.subject == f"Payout #{payout.pk}: pending"
    assert "3.96 USDT to TXabc (USDT TRC20)" in requested.body
    assert changed.subject == f"Payout #{payout.pk}: {subject}"
    assert changed.to == ["alice@example.com"]
    if line:
        assert line in changed.body


@pytest.mark.django_db(transaction=True)
def test_with_the_database_backend_the_mail_waits_for_the_worker(referred, mailoutbox, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend",
                                  "QUEUES": ["default"]}}
    exchange = referred("1000")
    exchange_set_status(exchange_id=exchange.pk, status="success")
    assert mailoutbox == []  # queued, not sent by the request
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    call_command("worker", "--burst")
    [mail] = mailoutbox
    assert mail.subject == "Reward credited: 4.00 USD"
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    call_command("worker", "--burst")
    assert len(mailoutbox) == 1  # sent once


@pytest.mark.parametrize(("partner_language", "subject"), [
    ("", "Reward credited: 4.00 USD"),  # the site's language, not the operator's
    ("uk", "Нараховано винагороду: 4.00 USD"),
])
def test_the_mail_speaks_the_partners_language_not_the_callers(
        referred, alice, mailoutbox, django_capture_on_commit_callbacks, partner_language,
        subject):
    """An operator working in Ukrainian (or a worker thread a Ukrainian task left so) must not
    decide the language of an English-speaking partner's mail, nor the other way round."""
    alice.language = partner_language
    alice.save(update_fields=["language"])
    exchange = referred("1000")
    caller = "en" if partner_language else "uk"
    with translation.override(caller), django_capture_on_commit_callbacks(execute=True):
        exchange_set_status(exchange_id=exchange.pk, status="success")
    [mail] = mailoutbox
    assert mail.subject == subject
