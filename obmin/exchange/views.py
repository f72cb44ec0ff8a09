"""The customer's pages: the direction list, the exchange form and the exchange's own page."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from obmin.exchange.forms import ExchangeForm
from obmin.exchange.hooks import referrer_of
from obmin.exchange.models import Direction, Exchange, normalize_currency_code
from obmin.exchange.selectors import DirectionTable, active_directions
from obmin.exchange.services import ExchangeError, customer_mark_paid, exchange_create
from obmin.lib.errors import add_refusal
from obmin.lib.money import plain
from obmin.lib.visitor import user_hash_of


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "exchange/home.html", {"directions": active_directions()})


def _directions_data(directions: list[Direction]) -> list[dict[str, object]]:
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
                    user_hash=user_hash_of(request),
                    partner_id=referrer_of(request, data["email"]),
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
