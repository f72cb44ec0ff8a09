"""Alerts to the operator: by e-mail (`OPERATOR_EMAIL`) and, optionally, a JSON POST to
`OPERATOR_WEBHOOK_URL` signed as postbacks are (the same function, with
`OPERATOR_WEBHOOK_SECRET`), both queued for the worker once the change that caused them commits.

What is told: a customer says paid (`exchange.paid`, from the exchange room's status hook,
connected in `OpsConfig.ready`); an exchange waits for the operator longer than
`OPERATOR_ALERT_WAIT_MINUTES` (`exchange.waiting`); a currency's reserve falls under its
`reserve_alert_below` (`reserve.low`). The last two are duties of `obmin worker`, each told once
per wait or per fall. Each is written in the site's language (`LANGUAGE_CODE`), not in that of
the customer whose request caused it.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from obmin.exchange.models import Currency, Exchange, ExchangeStatus
from obmin.exchange.selectors import WAITING_FOR_OPERATOR
from obmin.lib import netguard
from obmin.lib.mail import email_on_commit
from obmin.lib.money import plain
from obmin.lib.site import public_url
from obmin.postbacks.delivery import TIMEOUT_SECONDS, body_signature, signature

S = ExchangeStatus


class WebhookRefused(Exception):
    """The operator's webhook did not answer 2xx: the task's result keeps why."""


def operator_addresses() -> list[str]:
    return [a.strip() for a in settings.OPERATOR_EMAIL.split(",") if a.strip()]


def operator_alert(*, event: str, subject: str, body: str, data: dict[str, Any]) -> None:
    """Tells the operator, by e-mail and webhook as configured, once the transaction commits."""
    operators = operator_addresses()
    if operators:
        email_on_commit(subject=subject, body=body, to=operators)
    if settings.OPERATOR_WEBHOOK_URL:
        # The id is the webhook's X-Obmin-Delivery: the same on every retry of this alert.
        payload = {"id": uuid.uuid4().hex, "event": event, "time": int(time.time()),
                   "data": data}
        transaction.on_commit(lambda: send_operator_webhook.enqueue(payload=payload),
                              robust=True)


def webhook_request(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The body and headers of an operator webhook: signed as postbacks are (the one seam with
    the postbacks room's signature)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    delivery_id = str(payload["id"])
    return body, {"Content-Type": "application/json; charset=utf-8",
                  "X-Obmin-Event": str(payload["event"]), "X-Obmin-Delivery": delivery_id,
                  "X-Obmin-Signature": body_signature(settings.OPERATOR_WEBHOOK_SECRET, body),
                  "X-Obmin-Signature-V2": signature(settings.OPERATOR_WEBHOOK_SECRET,
                                                    at=int(time.time()),
                                                    delivery_id=delivery_id, signed=body)}


@task()
def send_operator_webhook(*, payload: dict[str, Any]) -> int:
    body, headers = webhook_request(payload)
    reply = netguard.send("POST", settings.OPERATOR_WEBHOOK_URL, body=body, headers=headers,
                          timeout=TIMEOUT_SECONDS)
    if not 200 <= reply.status < 300:
        raise WebhookRefused(f"HTTP {reply.status}: {reply.text[:200]}")
    return reply.status


def _exchange_data(exchange: Exchange) -> dict[str, Any]:
    return {"id": exchange.pk, "status": exchange.status,
            "amount_give": plain(exchange.amount_give),
            "currency_give": exchange.currency_give.code,
            "amount_get": plain(exchange.amount_get), "currency_get": exchange.currency_get.code,
            "customer_txid": exchange.customer_txid,
            "desk_url": public_url(f"/staff/desk/{exchange.pk}/")}


def alert_on_paid(sender: object, *, exchange: Exchange, status: str, **kwargs: Any) -> None:
    """The exchange room's status hook: a customer says paid."""
    if status != S.PAID:
        return
    exchange = (Exchange.objects.select_related("currency_give", "currency_get")
                .get(pk=exchange.pk))
    with translation.override(settings.LANGUAGE_CODE):
        operator_alert(
            event="exchange.paid",
            subject=_("Exchange #%(id)s paid by the customer") % {"id": exchange.pk},
            body=_("The customer says exchange #%(id)s is paid: %(give)s %(give_code)s to "
                   "%(pay_to)s %(memo)s.\nSend %(get)s %(get_code)s to %(account)s once "
                   "the payment has arrived.")
            % {"id": exchange.pk, "give": plain(exchange.amount_give),
               "give_code": exchange.currency_give.code, "pay_to": exchange.pay_to or "-",
               "memo": exchange.pay_memo, "get": plain(exchange.amount_get),
               "get_code": exchange.currency_get.code, "account": exchange.account_get}
            + "\n" + (_("Transaction id: %(txid)s") % {"txid": exchange.customer_txid}
                      if exchange.customer_txid else "")
            + "\n" + public_url(f"/staff/desk/{exchange.pk}/"),
            data=_exchange_data(exchange))


def exchanges_waiting_alert() -> int:
    """A duty: tells the operator of each exchange waiting (paid, received) longer than
    `OPERATOR_ALERT_WAIT_MINUTES`, once per wait (a status change starts a new one)."""
    minutes = settings.OPERATOR_ALERT_WAIT_MINUTES
    if minutes <= 0:
        return 0
    since = timezone.now() - timedelta(minutes=minutes)
    told = 0
    overdue = Exchange.objects.filter(status__in=WAITING_FOR_OPERATOR, status_changed_at__lte=since,
                                      waiting_alerted_at__isnull=True)
    for exchange_id in overdue.values_list("pk", flat=True)[:100]:
        with transaction.atomic():
            # Marked first, under the condition it was chosen by: two workers tell once.
            if not Exchange.objects.filter(pk=exchange_id, waiting_alerted_at__isnull=True,
                                           status__in=WAITING_FOR_OPERATOR).update(
                                               waiting_alerted_at=timezone.now()):
                continue
            exchange = (Exchange.objects.select_related("currency_give", "currency_get")
                        .get(pk=exchange_id))
            with translation.override(settings.LANGUAGE_CODE):
                operator_alert(
                    event="exchange.waiting",
                    subject=_("Exchange #%(id)s has waited %(minutes)s min (%(status)s)")
                    % {"id": exchange.pk, "minutes": minutes,
                       "status": exchange.get_status_display()},
                    body=_("Exchange #%(id)s has been %(status)s since %(since)s UTC.")
                    % {"id": exchange.pk, "status": exchange.get_status_display(),
                       "since": exchange.status_changed_at.strftime("%Y-%m-%d %H:%M")}
                    + "\n" + public_url(f"/staff/desk/{exchange.pk}/"),
                    data=_exchange_data(exchange))
            told += 1
    return told


def reserves_low_alert() -> int:
    """A duty: tells the operator of each currency whose reserve fell under its
    `reserve_alert_below`, once per fall (the mark is cleared when it is above again)."""
    Currency.objects.filter(reserve_alerted_at__isnull=False,
                            reserve__gte=F("reserve_alert_below")).update(reserve_alerted_at=None)
    told = 0
    low = Currency.objects.filter(reserve_alert_below__gt=0, reserve__lt=F("reserve_alert_below"),
                                  reserve_alerted_at__isnull=True)
    for currency in low:
        with transaction.atomic():
            # .update() rather than save(): the export is not rebuilt for a mark of ours.
            if not Currency.objects.filter(pk=currency.pk, reserve_alerted_at__isnull=True).update(
                    reserve_alerted_at=timezone.now()):
                continue
            with translation.override(settings.LANGUAGE_CODE):
                operator_alert(
                    event="reserve.low",
                    subject=_("Reserve of %(code)s is low: %(reserve)s") % {
                        "code": currency.code, "reserve": plain(currency.reserve)},
                    body=_("The reserve of %(code)s is %(reserve)s, under the %(threshold)s you "
                           "set.") % {"code": currency.code, "reserve": plain(currency.reserve),
                                      "threshold": plain(currency.reserve_alert_below)},
                    data={"currency": currency.code, "reserve": plain(currency.reserve),
                          "threshold": plain(currency.reserve_alert_below)})
            told += 1
    return told
