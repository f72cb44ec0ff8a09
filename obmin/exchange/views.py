"""The customer's pages: the direction list, the exchange form and the exchange's own page."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from obmin.exchange.forms import ExchangeForm
from obmin.exchange.models import Exchange
from obmin.exchange.selectors import active_directions
from obmin.exchange.services import ExchangeError, customer_mark_paid, exchange_create
from obmin.lib.money import plain
from obmin.partners.attribution import partner_id_for_exchange, visitor_hash


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "exchange/home.html", {"directions": active_directions()})


def _directions_data(directions) -> list[dict]:  # type: ignore[no-untyped-def]
    """What the page's script needs to compute the other amount as the customer types."""
    return [
        {
            "from": d.currency_give.code, "to": d.currency_get.code,
            "rate_give": plain(d.rate_give), "rate_get": plain(d.rate_get),
            "fee_give_percent": plain(d.fee_give_percent), "fee_get": plain(d.fee_get),
            "min": plain(d.min_amount), "max": plain(d.max_amount),
            "reserve": plain(d.currency_get.reserve), "decimals": d.currency_get.decimals,
        }
        for d in directions
    ]


def exchange_form(request: HttpRequest) -> HttpResponse:
    directions = active_directions()
    if request.method == "POST":
        form = ExchangeForm(request.POST, directions=directions)
        if form.is_valid() and form.direction is not None:
            data = form.cleaned_data
            try:
                exchange = exchange_create(
                    direction=form.direction,
                    amount_give=data["amount_give"],
                    email=data["email"],
                    account_get=data["account_get"],
                    user_hash=visitor_hash(request),
                    partner_id=partner_id_for_exchange(request, data["email"]),
                )
            except ExchangeError as error:
                form.add_error(error.field if error.field in form.fields else None,
                               error.message)
            else:
                return redirect("exchange:detail", token=exchange.token)
        status = 400 if form.errors else 200
    else:
        initial = {name: request.GET.get(name, "").strip().upper()
                   for name in ("cur_from", "cur_to")}
        codes_give = {d.currency_give.code for d in directions}
        codes_get = {d.currency_get.code for d in directions}
        preselected = {}
        if initial["cur_from"] in codes_give:
            preselected["cur_from"] = initial["cur_from"]
        if initial["cur_to"] in codes_get:
            preselected["cur_to"] = initial["cur_to"]
        form = ExchangeForm(initial=preselected, directions=directions)
        status = 200
    return render(request, "exchange/form.html",
                  {"form": form, "directions_data": _directions_data(directions)},
                  status=status)


def exchange_detail(request: HttpRequest, token: str) -> HttpResponse:
    exchange = get_object_or_404(
        Exchange.objects.select_related("currency_give", "currency_get"), token=token)
    return render(request, "exchange/detail.html", {
        "exchange": exchange,
        "history": exchange.status_changes.all(),
    })


@require_POST
def exchange_mark_paid(request: HttpRequest, token: str) -> HttpResponse:
    try:
        customer_mark_paid(token=token)
    except ExchangeError as error:
        messages.error(request, error.message)
    return redirect("exchange:detail", token=token)
