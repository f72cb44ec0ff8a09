"""The customer's pages: the direction list, the exchange form and the exchange's own page."""

from __future__ import annotations

from decimal import Decimal

import segno
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from obmin.exchange.accounts import EXAMPLES, is_crypto_address
from obmin.exchange.forms import ExchangeForm, LookupForm
from obmin.exchange.hooks import referrer_of
from obmin.exchange.models import Direction, Exchange, ExchangeStatus, normalize_currency_code
from obmin.exchange.notify import exchange_links_send, next_step
from obmin.exchange.selectors import (
    DirectionTable,
    active_directions,
    usual_processing_minutes,
)
from obmin.exchange.services import (
    ExchangeError,
    customer_mark_paid,
    exchange_create,
    exchange_rate_limit_refusal,
)
from obmin.lib.errors import add_refusal
from obmin.lib.ipmask import client_address_of
from obmin.lib.money import plain
from obmin.lib.text import normalize_email
from obmin.lib.visitor import user_hash_of


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "exchange/home.html", {"directions": active_directions()})


def _directions_data(directions: list[Direction]) -> list[dict[str, object]]:
    """What the page's script needs to compute the other amount as the customer types."""
    return [
        {
            "from": d.currency_give.code, "to": d.currency_get.code,
            "rate_give": plain(d.rate_give), "rate_get": plain(d.rate_get),
            "hold_minutes": d.rate_hold_minutes,
            "fee_give_percent": plain(d.fee_give_percent), "fee_get": plain(d.fee_get),
            "min": plain(d.min_amount), "max": plain(d.max_amount),
            "reserve": plain(d.currency_get.reserve), "decimals": d.currency_get.decimals,
            "give_decimals": d.currency_give.decimals,
            "account_example": EXAMPLES[d.currency_get.account_format],
        }
        for d in directions
    ]


def exchange_form(request: HttpRequest) -> HttpResponse:
    directions = active_directions()
    if request.method == "POST":
        form = ExchangeForm(request.POST, directions=directions)
        user_hash = user_hash_of(request)
        # Before anything else: a flood of exchanges is refused whatever it sends.
        refusal = exchange_rate_limit_refusal(client_ip=client_address_of(request),
                                              user_hash=user_hash)
        if refusal is not None:
            form.is_valid()  # the customer's values are shown again, with the refusal above
            add_refusal(form, refusal)
            return render(request, "exchange/form.html",
                          {"form": form, "directions_data": _directions_data(directions)},
                          status=429)
        if form.is_valid() and form.direction is not None:
            data = form.cleaned_data
            referrer = referrer_of(request, data["email"])
            try:
                exchange = exchange_create(
                    direction=form.direction,
                    amount_give=data["amount_give"],
                    email=data["email"],
                    account_get=data["account_get"],
                    user_hash=user_hash,
                    user_ip=client_address_of(request),
                    partner_id=referrer.partner_id if referrer else None,
                    source=referrer.source() if referrer else None,
                    language=get_language() or "",
                )
            except ExchangeError as error:
                add_refusal(form, error)
            else:
                return redirect("exchange:detail", token=exchange.token)
        status = 400 if form.errors else 200
    else:
        preselected = DirectionTable.of(directions).preselect(
            normalize_currency_code(request.GET.get("cur_from")),
            normalize_currency_code(request.GET.get("cur_to")))
        form = ExchangeForm(initial=preselected, directions=directions)
        status = 200
    return render(request, "exchange/form.html",
                  {"form": form, "directions_data": _directions_data(directions)},
                  status=status)


def _qr_svg(text: str) -> str:
    """A QR code of `text` as inline SVG (no image request, works offline)."""
    return segno.make(text, error="m").svg_inline(scale=4)


FINAL = (ExchangeStatus.SUCCESS, ExchangeStatus.CANCELLED)


def _status_of(exchange: Exchange) -> dict[str, object]:
    """What the status page shows that moves: the page renders it, status.json sends it."""
    history = list(exchange.status_changes.all())
    note = history[-1].note if history and exchange.status in (
        ExchangeStatus.ERROR, ExchangeStatus.CANCELLED) else ""
    return {
        "status": exchange.status, "label": exchange.get_status_display(),
        "next": next_step(exchange, usual_processing_minutes(exchange.direction_id)),
        "customer_txid": exchange.customer_txid, "payout_txid": exchange.payout_txid,
        "note": note, "final": exchange.status in FINAL,
        "history": [{"at": change.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                     "label": change.get_status_display()} for change in history],
    }


def exchange_detail(request: HttpRequest, token: str) -> HttpResponse:
    exchange = get_object_or_404(
        Exchange.objects.select_related("direction__currency_give", "currency_give",
                                        "currency_get"), token=token)
    payment = exchange.direction.payment_details()
    instructions = payment.instructions
    if (get_language() or "").startswith("uk") and payment.instructions_uk:
        instructions = payment.instructions_uk
    qr = ""
    if exchange.pay_to and is_crypto_address(exchange.currency_give.account_format):
        # segno's SVG holds the code as path geometry only: no text of ours reaches it.
        qr = mark_safe(_qr_svg(exchange.pay_to))  # noqa: S308
    return render(request, "exchange/detail.html", {
        "exchange": exchange,
        "amount_give": plain(exchange.amount_give),
        "amount_get": plain(exchange.amount_get),
        "amount_get_held": plain(exchange.amount_get_held or Decimal(0)),
        "rate_give": plain(exchange.rate_give), "rate_get": plain(exchange.rate_get),
        "instructions": instructions,
        "qr": qr,
        "state": _status_of(exchange),
        "show_payment": exchange.status in (ExchangeStatus.NEW, ExchangeStatus.PAID,
                                            ExchangeStatus.RECEIVED, ExchangeStatus.ERROR),
    })


def exchange_status(request: HttpRequest, token: str) -> JsonResponse:
    """What the status page polls to update itself in place."""
    exchange = get_object_or_404(Exchange, token=token)
    response = JsonResponse(_status_of(exchange))
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def exchange_mark_paid(request: HttpRequest, token: str) -> HttpResponse:
    try:
        customer_mark_paid(token=token, txid=request.POST.get("txid", ""))
    except ExchangeError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Thank you: we are checking your payment and will send "
                                    "your money once it arrives."))
    return redirect("exchange:detail", token=token)


def _lookup_key(group: str, request: HttpRequest) -> str:
    return client_address_of(request) or "unknown"


def _lookup_email_key(group: str, request: HttpRequest) -> str:
    return normalize_email(request.POST.get("email"))[:254]


def exchange_lookup(request: HttpRequest) -> HttpResponse:
    """A customer who lost the page asks for the links by e-mail. The answer is the same
    whether the address has exchanges or not; counted per client address (a refusal says so)
    and per e-mail (over it, nothing more is sent, and the page still says the same)."""
    form = LookupForm(request.POST or None)
    if request.method == "POST":
        if is_ratelimited(request, group="exchange_lookup:ip", key=_lookup_key,
                          rate=settings.EXCHANGE_LOOKUP_RATE_PER_IP, method="POST",
                          increment=True):
            return render(request, "exchange/lookup.html", {
                "form": form, "limited": _("Too many requests from your connection; please "
                                           "try again in an hour.")}, status=429)
        if form.is_valid():
            if not is_ratelimited(request, group="exchange_lookup:email", key=_lookup_email_key,
                                  rate=settings.EXCHANGE_LOOKUP_RATE_PER_EMAIL, method="POST",
                                  increment=True):
                exchange_links_send(email=form.cleaned_data["email"])
            return render(request, "exchange/lookup.html", {"sent": True})
        return render(request, "exchange/lookup.html", {"form": form}, status=400)
    return render(request, "exchange/lookup.html", {"form": form})
