"""Alerts to the operator: a customer says paid, an exchange waits too long, a reserve falls
low; by e-mail and by a signed webhook, each told once."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from obmin.exchange.models import Currency, Exchange
from obmin.exchange.services import customer_mark_paid, exchange_create, exchange_set_status
from obmin.ops.alerts import exchanges_waiting_alert, reserves_low_alert
from obmin.postbacks.delivery import body_signature, signature
from obmin.postbacks.tests.conftest import receiver  # noqa: F401  (the live receiver)

pytestmark = pytest.mark.django_db


@pytest.fixture
def told(settings):
    settings.OPERATOR_EMAIL = "ops@example.com, night@example.com"
    settings.OPERATOR_ALERT_WAIT_MINUTES = 30


def operator_mail(mailoutbox):
    return [m for m in mailoutbox if "ops@example.com" in m.to]


@pytest.fixture
def exchange(pm_btc):
    return exchange_create(direction=pm_btc, amount_give=Decimal(1000), email="c@example.org",
                           account_get="bc1q")


def test_paid_is_posted_to_the_webhook_signed_as_postbacks(
        settings, told, exchange, receiver, django_capture_on_commit_callbacks):  # noqa: F811
    settings.POSTBACK_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    settings.OPERATOR_WEBHOOK_URL = receiver.url + "/ops"
    settings.OPERATOR_WEBHOOK_SECRET = "s3cret"
    with django_capture_on_commit_callbacks(execute=True):
        customer_mark_paid(token=exchange.token, txid="in-tx-1")
    assert receiver.got.wait(5)
    request = receiver.requests[0]
    assert request.path == "/ops" and request.headers["X-Obmin-Event"] == "exchange.paid"
    assert request.headers["X-Obmin-Signature"] == body_signature("s3cret", request.body)
    at = int(request.headers["X-Obmin-Signature-V2"].split(",")[0].removeprefix("t="))
    assert abs(at - time.time()) < 60
    assert request.headers["X-Obmin-Signature-V2"] == signature(
        "s3cret", at=at, delivery_id=request.headers["X-Obmin-Delivery"], signed=request.body)
    payload = json.loads(request.body)
    assert payload["data"]["id"] == exchange.pk and payload["data"]["customer_txid"] == "in-tx-1"


def test_a_long_wait_is_told_once_and_again_after_a_new_status(
        told, exchange, mailoutbox, django_capture_on_commit_callbacks):
    customer_mark_paid(token=exchange.token)
    mailoutbox.clear()
    assert exchanges_waiting_alert() == 0  # not yet 30 min
    Exchange.objects.filter(pk=exchange.pk).update(
        status_changed_at=timezone.now() - timedelta(minutes=31))
    with django_capture_on_commit_callbacks(execute=True):
        assert exchanges_waiting_alert() == 1
        assert exchanges_waiting_alert() == 0
    assert len(operator_mail(mailoutbox)) == 1
    assert f"#{exchange.pk}" in operator_mail(mailoutbox)[0].subject
    exchange_set_status(exchange_id=exchange.pk, status="received")
    Exchange.objects.filter(pk=exchange.pk).update(
        status_changed_at=timezone.now() - timedelta(minutes=31))
    assert exchanges_waiting_alert() == 1


def test_a_low_reserve_is_told_once_per_fall(told, usd, mailoutbox,
                                              django_capture_on_commit_callbacks):
    Currency.objects.filter(pk=usd.pk).update(reserve_alert_below=Decimal(1000),
                                              reserve=Decimal(999))
    with django_capture_on_commit_callbacks(execute=True):
        assert reserves_low_alert() == 1
        assert reserves_low_alert() == 0
    assert "PMUSD" in operator_mail(mailoutbox)[0].subject
    Currency.objects.filter(pk=usd.pk).update(reserve=Decimal(5000))
    assert reserves_low_alert() == 0
    Currency.objects.filter(pk=usd.pk).update(reserve=Decimal(10))
    assert reserves_low_alert() == 1


def test_nothing_is_told_without_a_threshold(settings, usd, exchange):
    settings.OPERATOR_ALERT_WAIT_MINUTES = 0
    customer_mark_paid(token=exchange.token)
    Exchange.objects.update(status_changed_at=timezone.now() - timedelta(days=1))
    Currency.objects.update(reserve=Decimal(0))
    assert exchanges_waiting_alert() == 0 and reserves_low_alert() == 0


def test_the_operator_is_told_in_the_sites_language_whatever_the_customers(
        told, client, exchange, mailoutbox, django_capture_on_commit_callbacks):
    """A customer on the Ukrainian page says paid: the operator's alert is in the site's
    language (LANGUAGE_CODE), not the customer's."""
    client.cookies["django_language"] = "uk"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/exchange/{exchange.token}/paid/", {"txid": "in-tx-2"})
    exchange.refresh_from_db()
    assert exchange.status == "paid"
    (alert,) = operator_mail(mailoutbox)
    assert alert.subject == f"Exchange #{exchange.pk} paid by the customer", alert.subject
