"""The operator's desk (staff only): the exchanges waiting for the operator, newest claims
first, and one exchange's page with what to check and what to do.

Every button posts the status the page showed (`shown`), passed to `exchange_set_status` as
`only_from`: a second click, or a colleague who acted first, is refused with the exchange's
status now, so a status changes once whatever is clicked twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from obmin.exchange.accounts import AccountFormat, account_normalize
from obmin.exchange.models import Direction, Exchange, ExchangeStatus
from obmin.exchange.selectors import exchanges_waiting
from obmin.exchange.services import ALLOWED_TRANSITIONS, ExchangeError, exchange_set_status
from obmin.lib.money import plain, quantize
from obmin.lib.text import ascii_digits

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

S = ExchangeStatus
QUEUE_ROWS = 200
# "Waiting longer than": the age filter's choices, in minutes.
AGES = {"15m": 15, "1h": 60, "6h": 360, "24h": 1440}
# The desk's buttons: the status each sets, and what the operator must give with it.
ACTIONS = (S.RECEIVED, S.SUCCESS, S.ERROR, S.CANCELLED)


@dataclass(frozen=True)
class Action:
    status: str
    label: StrOrPromise
    field: str  # "txid", "note" (a reason, required) or "" (an optional note)
    key: str  # the keyboard shortcut that opens it


ACTION_DETAILS: dict[str, Action] = {
    S.RECEIVED: Action(S.RECEIVED, gettext_lazy("The money has arrived"), "", "r"),
    S.SUCCESS: Action(S.SUCCESS, gettext_lazy("Payout sent: success"), "txid", "s"),
    S.ERROR: Action(S.ERROR, gettext_lazy("Error"), "note", "e"),
    S.CANCELLED: Action(S.CANCELLED, gettext_lazy("Cancel the exchange"), "note", "c"),
}


def _queue(request: HttpRequest) -> tuple[QuerySet[Exchange], str, str]:
    queue = exchanges_waiting()
    direction = request.GET.get("direction", "")
    if ascii_digits(direction):
        queue = queue.filter(direction_id=int(direction))
    age = request.GET.get("age", "")
    if age in AGES:
        queue = queue.filter(status_changed_at__lte=timezone.now() - timedelta(minutes=AGES[age]))
    return queue, direction, age


@staff_member_required
def desk_queue(request: HttpRequest) -> HttpResponse:
    queue, direction, age = _queue(request)
    waiting = exchanges_waiting().count()
    return render(request, "ops/desk_queue.html", {
        "rows": [_row(e) for e in queue[:QUEUE_ROWS]], "shown_count": queue.count(),
        "waiting": waiting, "directions": Direction.objects.select_related(
            "currency_give", "currency_get"),
        "direction": direction, "age": age, "ages": AGES, "zone": settings.OPERATOR_TIME_ZONE,
    })


@dataclass(frozen=True)
class Row:
    exchange: Exchange
    give: str
    get: str
    waited_minutes: int


def _amount(exchange: Exchange, side: str) -> str:
    currency = getattr(exchange, f"currency_{side}")
    return f"{plain(quantize(getattr(exchange, f'amount_{side}'), currency.decimals))} " \
           f"{currency.code}"


def _row(exchange: Exchange) -> Row:
    waited = int((timezone.now() - exchange.status_changed_at).total_seconds() // 60)
    return Row(exchange, _amount(exchange, "give"), _amount(exchange, "get"), max(waited, 0))


@staff_member_required
def desk_exchange(request: HttpRequest, exchange_id: int) -> HttpResponse:
    exchange = get_object_or_404(
        Exchange.objects.select_related("currency_give", "currency_get", "direction",
                                        "partner__user"), pk=exchange_id)
    account_format = exchange.currency_get.account_format
    checked = account_normalize(account_format, exchange.account_get)
    possible = ALLOWED_TRANSITIONS[exchange.status]
    return render(request, "ops/desk_exchange.html", {
        "exchange": exchange, "give": _amount(exchange, "give"), "get": _amount(exchange, "get"),
        "rate": f"{plain(exchange.rate_give)} : {plain(exchange.rate_get)}",
        "account_ok": checked is not None,
        "account_checked": account_format != AccountFormat.ANY,
        "account_format": AccountFormat(account_format).label,
        "explorer": exchange.explorer_link(),
        "actions": [ACTION_DETAILS[s] for s in ACTIONS if s in possible],
        "history": exchange.status_changes.all(),
        "waiting": exchanges_waiting().count(),
        "reward": plain(exchange.partner_reward), "zone": settings.OPERATOR_TIME_ZONE,
    })


@require_POST
@staff_member_required
def desk_act(request: HttpRequest, exchange_id: int) -> HttpResponse:
    """One button of the exchange's page: the status it sets, from the status it showed."""
    status, shown = request.POST.get("status", ""), request.POST.get("shown", "")
    action = ACTION_DETAILS.get(status)
    txid = request.POST.get("txid", "")
    note = request.POST.get("note", "").strip()
    if action is None or shown not in S.values:
        messages.error(request, _("Choose one of the page's buttons."))
    elif action.field == "txid" and not txid.strip():
        messages.error(request, _("Give the transaction id of the payout you sent."))
    elif action.field == "note" and not note:
        messages.error(request, _("Give the reason; the customer reads it."))
    else:
        try:
            exchange_set_status(exchange_id=exchange_id, status=status,
                                actor=f"desk:{request.user.get_username()}", note=note,
                                txid=txid, only_from=shown)
        except ExchangeError as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, _("Exchange #%(id)s is %(status)s now.")
                             % {"id": exchange_id, "status": S(status).label})
    return redirect("ops:desk_exchange", exchange_id=exchange_id)
