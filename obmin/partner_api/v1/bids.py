"""Bids (exchanges) created through API v1, and their status callbacks.

A bid is an ordinary exchange made by `exchange.services.exchange_create` after the exchange
page's own form (`exchange.forms.ExchangeForm`) has checked it, so limits, reserve and the
account format are refused alike; `ApiBid` records which key created it (a key sees only its
own) and where to POST its status changes. The POST is sent by `obmin worker`
(`bid_callbacks_deliver`), through `lib.netguard` (no private or loopback address), with
retries after growing pauses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_UP, Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from obmin.exchange.forms import ExchangeForm
from obmin.exchange.models import Direction, Exchange, ExchangeStatus
from obmin.exchange.selectors import active_directions
from obmin.exchange.services import (
    ExchangeError,
    Quote,
    customer_mark_paid,
    exchange_create,
    exchange_rate_limit_refusal,
    exchange_set_status,
    quote,
)
from obmin.lib import netguard
from obmin.lib.money import quantize, quantize_down
from obmin.lib.site import public_url
from obmin.lib.timeutil import to_unix
from obmin.partner_api.models import ApiBid, ApiKey, BidCallback
from obmin.partners.selectors import partner_may_earn

log = logging.getLogger(__name__)

# The exchange form's fields -> the v1 parameters that carry them.
FORM_TO_PARAM = {"cur_from": "direction_id", "cur_to": "direction_id",
                 "amount_give": "calc_amount", "email": "cf6", "account_get": "account2",
                 "__all__": "direction_id"}
# Pause before attempt n+1 after n failed attempts (seconds): 1 min, 5 min, 30 min, 2 h, 6 h.
CALLBACK_BACKOFF = (60, 300, 1800, 7200, 21600)
# A claimed callback is left to its worker this long before another may try it.
CALLBACK_LEASE = timedelta(minutes=2)
CALLBACK_TIMEOUT = 5.0
# A round stops claiming callbacks after this long (slow receivers wait for the next round).
CALLBACK_ROUND_SECONDS = 3.0


class BidRefused(Exception):
    """A bid not created: `fields` maps each v1 parameter at fault to the reason."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        super().__init__(next(iter(fields.values())))
        self.fields = dict(fields)


@dataclass(frozen=True)
class Calc:
    quote: Quote
    changed: bool


def give_for_get(direction: Direction, amount_get: Decimal, *, up: bool = True) -> Decimal:
    """What the customer gives to get `amount_get` (quote's inverse), in the give currency's
    decimals: rounded up (the customer gets at least that) or down (never beyond it)."""
    keep = Decimal(1) - direction.fee_give_percent / Decimal(100)
    if keep <= 0 or direction.rate_get <= 0:
        return Decimal(0)
    give = (amount_get + direction.fee_get) * direction.rate_give / direction.rate_get / keep
    decimals = direction.currency_give.decimals
    return (quantize(give, decimals, ROUND_UP) if up else quantize_down(give, decimals))


def calc(direction: Direction, amount: Decimal, action: int) -> Calc:
    """`get_calc`: the amounts for `amount` given (action 1) or wanted (2), moved into the
    direction's limits and its reserve when outside them (`changed`)."""
    give = amount if action == 1 else give_for_get(direction, amount)
    moved = give
    caps = [give_for_get(direction, direction.currency_get.reserve, up=False)]
    if direction.max_amount:
        caps.append(direction.max_amount)
    moved = min(moved, *caps)
    moved = max(moved, direction.min_amount)
    return Calc(quote(direction, moved), changed=moved != give)


def _form_refusal(form: ExchangeForm) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, errors in form.errors.items():
        param = FORM_TO_PARAM.get(name, name)
        fields.setdefault(param, " ".join(str(error) for error in errors))
    return fields


def bid_check_rate(*, key: ApiKey, client_ip: str) -> str | None:
    """The exchange form's own rate limit (`exchange_rate_limit_refusal`), counted per client
    address and per key (as the form counts per visitor): the refusal's text, else None."""
    refused = exchange_rate_limit_refusal(client_ip=client_ip, user_hash=f"apikey:{key.pk}")
    return None if refused is None else refused.message


def bid_create(*, key: ApiKey, direction: Direction, amount: Decimal, action: int,
               account: str, email: str, partner_id: int | None, api_id: str,
               callback_url: str, client_ip: str = "") -> Exchange | Quote:
    """Checks a bid as the exchange page checks its form, then creates the exchange and its
    ApiBid. A test key's bid is checked alike but never stored: the quote comes back."""
    amount_give = amount if action == 1 else give_for_get(direction, amount)
    form = ExchangeForm(
        {"cur_from": direction.currency_give.code, "cur_to": direction.currency_get.code,
         "amount_give": str(amount_give), "email": email, "account_get": account},
        directions=active_directions())
    fields = {} if form.is_valid() else _form_refusal(form)
    if partner_id is not None and not partner_may_earn(partner_id=partner_id,
                                                       customer_email=email):
        fields.setdefault("partner_id", _("No partner with this id may be credited for "
                                          "this exchange."))
    if callback_url:
        refusal = netguard.url_refusal(callback_url)
        if refusal is not None:
            fields.setdefault("callback_url", refusal)
    if fields:
        raise BidRefused(fields)
    if key.is_test:
        return quote(direction, form.cleaned_data["amount_give"])
    with transaction.atomic():
        try:
            exchange = exchange_create(
                direction=direction, amount_give=form.cleaned_data["amount_give"],
                email=form.cleaned_data["email"], account_get=form.cleaned_data["account_get"],
                partner_id=partner_id, user_ip=client_ip)
        except ExchangeError as error:
            raise BidRefused({FORM_TO_PARAM.get(error.field or "", "direction_id"):
                              error.message}) from None
        ApiBid.objects.create(exchange=exchange, api_key=key, api_id=api_id[:100],
                              callback_url=callback_url)
    return exchange


def bid_of(*, key: ApiKey, bid_id: int | None = None, token: str = "") -> Exchange | None:
    """The key's own bid by id or hash (token); another key's is no bid at all."""
    if bid_id is None and not token:
        return None
    condition = Q(pk=bid_id) if bid_id is not None else Q(token=token)
    mine = ApiBid.objects.filter(api_key=key).values("exchange_id")
    return (Exchange.objects.select_related("currency_give", "currency_get", "direction")
            .filter(condition, pk__in=mine).first())


def bid_cancel(*, exchange: Exchange) -> Exchange:
    """The customer (through the bot) gives up a bid not yet paid."""
    if exchange.status != ExchangeStatus.NEW:
        raise BidRefused({"hash": _("This exchange is already %(status)s.")
                          % {"status": exchange.get_status_display()}})
    try:
        return exchange_set_status(exchange_id=exchange.pk, status=ExchangeStatus.CANCELLED,
                                   actor="api")
    except ExchangeError as error:
        raise BidRefused({"hash": error.message}) from None


def bid_pay(*, exchange: Exchange) -> Exchange:
    """The customer's "I have paid", pressed through the bot."""
    try:
        return customer_mark_paid(token=exchange.token)
    except ExchangeError as error:
        raise BidRefused({"hash": error.message}) from None


def bid_url(exchange: Exchange) -> str:
    return public_url(reverse("exchange:detail", kwargs={"token": exchange.token}))


# ---------------------------------------------------------------------------------------------
# Callbacks.


def callback_body(exchange: Exchange, bid: ApiBid, previous_status: str) -> str:
    """What a callback POSTs, form-encoded like v1's own requests."""
    return urlencode({
        "id": exchange.pk, "hash": exchange.token, "api_id": bid.api_id,
        "status": exchange.status, "status_title": str(exchange.get_status_display()),
        "previous_status": previous_status,
        "amount_give": exchange.amount_give, "amount_get": exchange.amount_get,
        "time": to_unix(exchange.status_changed_at),
    })


def bid_callback_on_status_change(sender: object, *, exchange: Exchange,
                                  previous_status: str = "", **kwargs: object) -> None:
    """Receiver of exchange.hooks.exchange_status_changed: queues one callback, inside the
    status change's transaction (a change rolled back queues nothing)."""
    bid = ApiBid.objects.filter(pk=exchange.pk).exclude(callback_url="").first()
    if bid is None:
        return
    BidCallback.objects.create(bid=bid, status=exchange.status,
                               body=callback_body(exchange, bid, previous_status),
                               next_attempt_at=timezone.now())


def bid_callbacks_deliver() -> int:
    """Sends the callbacks that are due (a duty of `obmin worker`); answers how many it tried.

    Each is claimed first (its next attempt moved a lease ahead), so two workers never send
    the same one at once. 2xx is delivered; anything else is tried again after the next pause
    of CALLBACK_BACKOFF, until PARTNER_API_CALLBACK_ATTEMPTS attempts."""
    now = timezone.now()
    started = time.monotonic()
    due = list(BidCallback.objects.filter(delivered_at__isnull=True, next_attempt_at__lte=now)
               .select_related("bid").order_by("next_attempt_at", "id")[:20])
    tried = 0
    for callback in due:
        if time.monotonic() - started > CALLBACK_ROUND_SECONDS:
            break  # the rest next round: the worker's other duties keep their pace
        claimed = BidCallback.objects.filter(
            pk=callback.pk, next_attempt_at=callback.next_attempt_at,
        ).update(next_attempt_at=now + CALLBACK_LEASE)
        if not claimed:
            continue
        tried += 1
        error = ""
        try:
            reply = netguard.send(
                "POST", callback.bid.callback_url, body=callback.body.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout=CALLBACK_TIMEOUT)
        except netguard.SendFailed as failed:
            error = failed.reason
        else:
            if not 200 <= reply.status < 300:
                error = f"HTTP {reply.status}"
        attempts = callback.attempts + 1
        done_at = timezone.now()
        if not error:
            BidCallback.objects.filter(pk=callback.pk).update(
                attempts=attempts, delivered_at=done_at, next_attempt_at=None, last_error="")
            continue
        gave_up = attempts >= settings.PARTNER_API_CALLBACK_ATTEMPTS
        pause = CALLBACK_BACKOFF[min(attempts, len(CALLBACK_BACKOFF)) - 1]
        BidCallback.objects.filter(pk=callback.pk).update(
            attempts=attempts, last_error=error[:255],
            next_attempt_at=None if gave_up else done_at + timedelta(seconds=pause))
        if gave_up:
            log.warning("bid %s: callback given up after %s attempts (%s)",
                        callback.bid_id, attempts, error)
    return tried
