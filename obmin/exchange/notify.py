"""What the customer is told, on their exchange's page and by e-mail: the next step of each
status, and an e-mail with the page's link when the exchange is made and at each change.

The e-mails go through `lib.mail` (the worker sends them) and are connected to the exchange
room's own hooks in `ExchangeConfig.ready`, in the customer's language.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from obmin.exchange.models import Exchange, ExchangeStatus
from obmin.exchange.selectors import usual_processing_minutes
from obmin.lib.mail import email_on_commit
from obmin.lib.money import plain
from obmin.lib.site import public_url
from obmin.lib.text import normalize_email

S = ExchangeStatus


def status_url(exchange: Exchange) -> str:
    """The exchange's page at the site's public address: the link a customer keeps."""
    return public_url(reverse("exchange:detail", args=[exchange.token]))


def next_step(exchange: Exchange, usual_minutes: int | None) -> str:
    """What happens next, and how long it usually takes, in the active language."""
    if exchange.status == S.NEW:
        return _("Send the payment as shown, then press \"I have paid\" (with the transaction "
                 "id if you have one).")
    if exchange.status in (S.PAID, S.RECEIVED):
        waiting = (_("We are checking that your payment has arrived.") if exchange.status == S.PAID
                   else _("Your payment has arrived; we are sending your money."))
        if usual_minutes is not None:
            return waiting + " " + _("This usually takes about %(minutes)s min.") % {
                "minutes": usual_minutes}
        # Before the direction's first success: the time the operator is told to act within.
        if settings.OPERATOR_ALERT_WAIT_MINUTES > 0:
            return waiting + " " + _("This is usually done within %(minutes)s min.") % {
                "minutes": settings.OPERATOR_ALERT_WAIT_MINUTES}
        return waiting
    if exchange.status == S.SUCCESS:
        return _("Done: we have sent your money. The transaction id is below.")
    if exchange.status == S.ERROR:
        return _("Something is wrong with this exchange; we will contact you by e-mail. "
                 "You may also answer this e-mail.")
    return _("This exchange is cancelled. If you have paid, answer this e-mail.")


def _send(exchange: Exchange, subject: str) -> None:
    exchange = (Exchange.objects.select_related("currency_give", "currency_get")
                .get(pk=exchange.pk))
    usual = usual_processing_minutes(exchange.direction_id)
    with translation.override(exchange.language or settings.LANGUAGE_CODE):
        context = {
            "exchange": exchange, "url": status_url(exchange),
            "give": plain(exchange.amount_give), "get": plain(exchange.amount_get),
            "status": exchange.get_status_display(), "next": next_step(exchange, usual),
            "note": exchange.status_changes.order_by("-id").values_list("note", flat=True)
            .first() if exchange.status in (S.ERROR, S.CANCELLED) else "",
        }
        body = render_to_string("exchange/email/status.txt", context)
        email_on_commit(subject=subject % {"id": exchange.pk, "status": context["status"]},
                        body=body, to=[exchange.email])


def email_on_create(sender: object, *, exchange: Exchange, **kwargs: Any) -> None:
    with translation.override(exchange.language or settings.LANGUAGE_CODE):
        subject = _("Exchange #%(id)s: your link and how to pay")
    _send(exchange, subject)


def email_on_status(sender: object, *, exchange: Exchange, status: str, **kwargs: Any) -> None:
    with translation.override(exchange.language or settings.LANGUAGE_CODE):
        subject = _("Exchange #%(id)s is %(status)s")
    _send(exchange, subject)


LOOKUP_DAYS = 180
LOOKUP_MAX = 20


def exchange_links_send(*, email: str) -> int:
    """Sends the address the links of its recent exchanges (a customer who lost the page);
    nothing when it made none. The page answers the same either way: it never says whether
    an address has exchanges. Answers how many links were sent."""
    since = timezone.now() - timedelta(days=LOOKUP_DAYS)
    exchanges = list(Exchange.objects.filter(email=normalize_email(email), created_at__gte=since)
                     .select_related("currency_give", "currency_get")
                     .order_by("-created_at")[:LOOKUP_MAX])
    if not exchanges:
        return 0
    language = exchanges[0].language or translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(language):
        body = render_to_string("exchange/email/links.txt", {
            "rows": [(e, plain(e.amount_give), plain(e.amount_get), status_url(e))
                     for e in exchanges]})
        email_on_commit(subject=_("Your exchanges' links"), body=body, to=[exchanges[0].email])
    return len(exchanges)
