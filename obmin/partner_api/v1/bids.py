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
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_UP, Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from obmin.exchange.forms import ExchangeForm
from obmin.exchange.models import Direction, Exchange, ExchangeStatus
from obmin.exchange.selectors import active_directions, direction_fields
from obmin.exchange.services import (
    ExchangeError,
    Quote,
    customer_mark_paid,
    exchange_create,
    exchange_rate_limit_refusal,
    exchange_set_status,
    quote,
    typed_text,
)
from obmin.lib import netguard
from obmin.lib.errors import Refused
from obmin.lib.money import quantize, quantize_down
from obmin.lib.ratelimit import in_minutes, seconds_to_wait
from obmin.lib.site import public_url
from obmin.partner_api.models import ApiBid, ApiKey, BidCallback
from obmin.partner_api.v1.statuses import premium_status
from obmin.partners.attribution import partner_for_bid

log = logging.getLogger(__name__)

# The exchange form's fields -> the v1 parameters that carry them (the e-mail's is the
# direction's e-mail field, filled in by bid_create).
FORM_TO_PARAM = {"cur_from": "direction_id", "cur_to": "direction_id",
                 "amount_give": "calc_amount", "account_get": "account2",
                 "__all__": "direction_id"}
# Pause before attempt n+1 after n failed attempts (seconds): 1 min, 5 min, 30 min, 2 h, 6 h.
CALLBACK_BACKOFF = (60, 300, 1800, 7200, 21600)
# A claimed callback is left to its worker this long before another may try it.
CALLBACK_LEASE = timedelta(minutes=2)
CALLBACK_TIMEOUT = 5.0
# A round stops claiming callbacks after this long (slow receivers wait for the next round).
CALLBACK_ROUND_SECONDS = 3.0
# Longest value of a field a bid keeps (names, phones, Telegram handles are far shorter).
FIELD_MAX_LENGTH = 200
CALLBACK_URL_MAX_LENGTH = 500  # ApiBid.callback_url's column
# Callbacks sent at once in a round, and at most this many of one API key's.
CALLBACK_THREADS = 8
CALLBACK_PER_KEY = 4
_callback_pool = ThreadPoolExecutor(max_workers=CALLBACK_THREADS, thread_name_prefix="callback")


class BidRefused(Exception):
    """A bid not created or not moved: `fields` maps each v1 parameter at fault to the
    reason."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        super().__init__(next(iter(fields.values())))
        self.fields = dict(fields)


@dataclass(frozen=True)
class Calc:
    """The calculator's answer. `quote.amount_give` is what the customer pays (Premium's
    sum_give_com), `quote.amount_get` what it receives (sum_get_com); `sum_give` is the amount
    after the give-side percent fee, `sum_get` before the fixed get-side fee."""

    quote: Quote
    sum_give: Decimal
    sum_get: Decimal
    changed: bool


def _kept(direction: Direction) -> Decimal:
    """The share of what the customer pays that is exchanged (after the give-side fee)."""
    return Decimal(1) - direction.fee_give_percent / Decimal(100)


def give_for_get(direction: Direction, amount_get: Decimal, *, up: bool = True) -> Decimal:
    """What the customer gives to get `amount_get` (quote's inverse), in the give currency's
    decimals: rounded up (the customer gets at least that) or down (never beyond it)."""
    keep = _kept(direction)
    if keep <= 0 or direction.rate_get <= 0:
        return Decimal(0)
    give = (amount_get + direction.fee_get) * direction.rate_give / direction.rate_get / keep
    decimals = direction.currency_give.decimals
    return (quantize(give, decimals, ROUND_UP) if up else quantize_down(give, decimals))


def _give_of(direction: Direction, amount: Decimal, action: int) -> Decimal:
    """What the customer pays for `amount` read as `calc_action` says: 1 the amount exchanged
    (before the give fee), 2 the amount received before the fixed get fee, 3 the amount paid,
    4 the amount received."""
    if action == 3:
        return amount
    if action == 1:
        keep = _kept(direction)
        return (quantize(amount / keep, direction.currency_give.decimals, ROUND_UP)
                if keep > 0 else Decimal(0))
    if action == 2:
        return give_for_get(direction, max(amount - direction.fee_get, Decimal(0)))
    return give_for_get(direction, amount)


def calc(direction: Direction, amount: Decimal, action: int) -> Calc:
    """`get_calc`: the amounts for `amount` (as `calc_action` reads it), moved into the
    direction's limits and its reserve when outside them (`changed`)."""
    give = _give_of(direction, amount, action)
    caps = [give_for_get(direction, direction.currency_get.reserve, up=False)]
    if direction.max_amount:
        caps.append(direction.max_amount)
    moved = max(min(give, *caps), direction.min_amount)
    q = quote(direction, moved)
    sum_give = quantize_down(moved * _kept(direction), direction.currency_give.decimals)
    sum_get = q.amount_get + direction.fee_get if q.amount_get > 0 else Decimal(0)
    return Calc(q, sum_give=sum_give, sum_get=sum_get, changed=moved != give)


def _form_refusal(form: ExchangeForm, email_param: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, errors in form.errors.items():
        param = email_param if name == "email" else FORM_TO_PARAM.get(name, name)
        fields.setdefault(param, " ".join(str(error) for error in errors))
    return fields


def bid_key_refusal(*, key: ApiKey) -> Refused | None:
    """Counts one create_bid through this key; its refusal when beyond the key's hourly bid
    limit (the operator's, else PARTNER_API_BIDS_PER_HOUR), else None. A key serves all of a
    bot's customers from one address, so every attempt counts here, and create_bid is not
    counted in the requests per minute (PARTNER_API_RATE)."""
    rate = f"{key.bids_per_hour or settings.PARTNER_API_BIDS_PER_HOUR}/h"
    wait = seconds_to_wait("v1:bids", str(key.pk), rate)
    if wait is not None:
        return Refused(_("This key's bid limit is reached; try again in %(minutes)s min.")
                       % {"minutes": in_minutes(wait)}, retry_after=wait)
    return None


def bid_customer_refusal(*, user_ip: str) -> Refused | None:
    """The refusal of one more bid for the customer at `user_ip` (the address the bot passes),
    counted as the exchange page counts a visitor's (`exchange_rate_limit_refusal`)."""
    if user_ip:
        return exchange_rate_limit_refusal(client_ip=user_ip, user_hash="")
    return None


@dataclass(frozen=True)
class BidRequest:
    """A bid as create_bid asks it: `fields` are the direction's fields by Premium's name."""

    direction: Direction
    amount: Decimal
    action: int
    fields: Mapping[str, str]
    partner_id: int | None
    api_id: str
    callback_url: str
    user_ip: str


def _field_values(direction: Direction, given: Mapping[str, str]) -> tuple[dict[str, str],
                                                                              dict[str, str]]:
    """The direction's fields from the request (those it does not ask are ignored), and the
    refusals of those missing or malformed. Each is checked as the exchange page checks its
    account (`typed_text`): the accounts and the e-mail for look-alike letters too, names and
    other free fields only for invisible characters."""
    values: dict[str, str] = {}
    refused: dict[str, str] = {}
    for asked in direction_fields(direction):
        try:
            value = typed_text(given.get(asked.name, ""), field=asked.name,
                               one_script=asked.is_account)
        except ExchangeError as error:
            refused[asked.name] = error.message
            continue
        if not value:
            if asked.required:
                refused[asked.name] = _("This parameter is required.")
            continue
        if len(value) > FIELD_MAX_LENGTH:
            refused[asked.name] = _("Printable text of up to %(max)s characters is expected.") \
                % {"max": FIELD_MAX_LENGTH}
            continue
        values[asked.name] = value
    return values, refused


def bid_create(*, key: ApiKey, bid: BidRequest) -> Exchange | Calc:
    """Checks a bid as the exchange page checks its form, then creates the exchange and its
    ApiBid. A test key's bid is checked alike but never stored: the calculation comes back.

    Attribution follows the web's rule (`partners.attribution.partner_for_bid`): a customer
    bound by an earlier successful exchange stays bound; a key names only its own partner
    unless the operator granted it others (`may_name_partners`)."""
    direction = bid.direction
    values, fields = _field_values(direction, bid.fields)
    # In its currency's decimals (the give currency's for calc_action 1 and 3, the get one's
    # for 2 and 4), as the exchange page takes it: more is refused, never rounded.
    currency = direction.currency_give if bid.action in (1, 3) else direction.currency_get
    if bid.amount != quantize_down(bid.amount, currency.decimals):
        fields["calc_amount"] = (_("%(code)s has at most %(n)s digits after the point.")
                                 % {"code": currency.code, "n": currency.decimals})
    email_param = direction.email_field
    amount_give = _give_of(direction, bid.amount, bid.action)
    form = ExchangeForm(
        {"cur_from": direction.currency_give.code, "cur_to": direction.currency_get.code,
         "amount_give": str(amount_give), "email": values.get(email_param, ""),
         "account_get": values.get("account2", "")},
        directions=active_directions())
    if not form.is_valid():
        for name, reason in _form_refusal(form, email_param).items():
            fields.setdefault(name, reason)
    partner_id = None
    if bid.partner_id is not None and (bid.partner_id != key.partner_id
                                       and not key.may_name_partners):
        fields.setdefault("partner_id", _("This key may name only its own partner "
                                          "(%(id)s).") % {"id": key.partner_id})
    else:
        # Naming no one, the customer's binding still holds (as on the web without a cookie).
        partner_id = partner_for_bid(named_partner_id=bid.partner_id,
                                     email=values.get(email_param, ""))
        if partner_id is None and bid.partner_id is not None:
            fields.setdefault("partner_id", _("No partner with this id may be credited "
                                              "for this exchange."))
    callback_url = bid.callback_url
    if callback_url:
        try:  # normalised (IDNA host, percent-encoded path and query) or refused
            callback_url = netguard.url_checked(callback_url, owner=key.partner_id)
        except netguard.SendFailed as refused:
            fields.setdefault("callback_url", refused.reason)
        if len(callback_url) > CALLBACK_URL_MAX_LENGTH:
            fields.setdefault("callback_url", _("At most 500 characters."))
    if fields:
        raise BidRefused(fields)
    if key.is_test:
        return calc(direction, form.cleaned_data["amount_give"], 3)
    with transaction.atomic():
        try:
            exchange = exchange_create(
                direction=direction, amount_give=form.cleaned_data["amount_give"],
                email=form.cleaned_data["email"], account_get=form.cleaned_data["account_get"],
                partner_id=partner_id, user_ip=bid.user_ip)
        except ExchangeError as error:
            param = (email_param if error.field == "email"
                     else FORM_TO_PARAM.get(error.field or "", "direction_id"))
            raise BidRefused({param: error.message}) from None
        ApiBid.objects.create(exchange=exchange, api_key=key, api_id=bid.api_id[:100],
                              callback_url=callback_url, fields=values)
    return exchange


def bid_of(*, key: ApiKey, bid_id: int | None = None, token: str = "") -> Exchange | None:
    """The key's own bid by id or hash (token); another key's is no bid at all."""
    if bid_id is None and not token:
        return None
    condition = Q(pk=bid_id) if bid_id is not None else Q(token=token)
    mine = ApiBid.objects.filter(api_key=key).values("exchange_id")
    return (Exchange.objects.select_related("currency_give", "currency_get", "direction")
            .filter(condition, pk__in=mine).first())


def _moved(exchange: Exchange, change: Callable[[], Exchange]) -> Exchange:
    """A status change through exchange.services (which checks it under the row lock); its
    refusal as the bid's."""
    try:
        return change()
    except ExchangeError as error:
        raise BidRefused({"hash": error.message}) from None


def bid_cancel(*, exchange: Exchange) -> Exchange:
    """The customer (through the bot) gives up a bid not yet paid."""
    return _moved(exchange, lambda: exchange_set_status(
        exchange_id=exchange.pk, status=ExchangeStatus.CANCELLED, actor="api",
        only_from=ExchangeStatus.NEW))


def bid_pay(*, exchange: Exchange) -> Exchange:
    """The customer's "I have paid", pressed through the bot; not where the payment is
    detected automatically (api_actions.pay is then the page, not `api`)."""
    if exchange.direction.automatic_payment:
        raise BidRefused({"hash": _("This bid's payment is confirmed automatically.")})
    return _moved(exchange, lambda: customer_mark_paid(token=exchange.token))


def bid_complete(*, exchange: Exchange) -> Exchange:
    """success_bid: the exchanger's own tool says the bid is done."""
    # Not "api": that actor is the customer's bot, which may only claim or give up a new bid
    # (exchange.services.ACTOR_TRANSITIONS); success_bid is the operator's own tool.
    return _moved(exchange, lambda: exchange_set_status(
        exchange_id=exchange.pk, status=ExchangeStatus.SUCCESS, actor="api:operator"))


def bid_url(exchange: Exchange) -> str:
    return public_url(reverse("exchange:detail", kwargs={"token": exchange.token}))


# ---------------------------------------------------------------------------------------------
# Callbacks.


def callback_body(exchange: Exchange, bid: ApiBid) -> str:
    """What a callback POSTs, form-encoded like v1's own requests: Premium's fields (bid_id,
    the direction's fields as given: account1, account2, cfgive8, cf1..cf99), the status by
    Premium's name and the bid's hash."""
    return urlencode({"bid_id": exchange.pk, **bid.fields,
                      "status": premium_status(exchange.status), "hash": exchange.token,
                      "api_id": bid.api_id})


def bid_callback_on_status_change(sender: object, *, exchange: Exchange,
                                  previous_status: str = "", **kwargs: object) -> None:
    """Receiver of exchange.hooks.exchange_status_changed: queues one callback, inside the
    status change's transaction (a change rolled back queues nothing)."""
    bid = ApiBid.objects.filter(pk=exchange.pk).exclude(callback_url="").first()
    if bid is None:
        return
    BidCallback.objects.create(bid=bid, status=exchange.status,
                               body=callback_body(exchange, bid),
                               next_attempt_at=timezone.now())


def _callback_send(url: str, body: str, partner_id: int) -> str:
    """One POST of a callback: "" when answered 2xx, else why not. Whatever goes wrong is this
    callback's failed attempt, never the round's."""
    try:
        reply = netguard.send("POST", url, body=body.encode(),
                              headers={"Content-Type": "application/x-www-form-urlencoded"},
                              timeout=CALLBACK_TIMEOUT, owner=partner_id)
    except netguard.SendFailed as failed:
        return failed.reason
    except Exception as exc:  # noqa: BLE001 - a URL stored before URLs were normalised, ...
        return f"{type(exc).__name__}: {exc}"
    return "" if 200 <= reply.status < 300 else f"HTTP {reply.status}"


def bid_callbacks_deliver() -> int:
    """Sends the callbacks that are due (a duty of `obmin worker`), each bid's in order;
    answers how many it tried.

    Each round takes the earliest due callbacks of each API key (at most CALLBACK_PER_KEY of
    one key's, CALLBACK_THREADS in all) and sends them side by side, each bounded by
    CALLBACK_TIMEOUT: a key with hundreds of callbacks to a receiver that hangs delays another
    key's by one round at most. Each is claimed first (its next attempt moved a lease ahead),
    so two workers never send the same one at once. 2xx is delivered; anything else is tried
    again after the next pause of CALLBACK_BACKOFF, until PARTNER_API_CALLBACK_ATTEMPTS
    attempts."""
    now = timezone.now()
    # A bid's callbacks arrive in the order of its statuses: none is sent while an earlier one
    # of the same bid still waits (a bot must never see `payed` after `success`); one given
    # up (no next attempt) no longer holds the rest.
    earlier_waiting = BidCallback.objects.filter(
        bid_id=OuterRef("bid_id"), id__lt=OuterRef("id"), delivered_at__isnull=True,
        next_attempt_at__isnull=False)
    due = (BidCallback.objects.filter(delivered_at__isnull=True, next_attempt_at__lte=now)
           .exclude(Exists(earlier_waiting))
           .annotate(turn=Window(RowNumber(), partition_by=[F("bid__api_key_id")],
                                 order_by=[F("next_attempt_at").asc(), F("id").asc()]))
           .filter(turn__lte=CALLBACK_PER_KEY).select_related("bid__api_key")
           .order_by("turn", "next_attempt_at", "id"))
    claimed = []
    for callback in due[:CALLBACK_THREADS]:
        if BidCallback.objects.filter(pk=callback.pk, next_attempt_at=callback.next_attempt_at,
                                      ).update(next_attempt_at=now + CALLBACK_LEASE):
            claimed.append(callback)
    # Only the sending is in threads; the rows are read and written here.
    sending = [(callback, _callback_pool.submit(_callback_send, callback.bid.callback_url,
                                                callback.body, callback.bid.api_key.partner_id))
               for callback in claimed]
    for callback, future in sending:
        error = future.result()
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
    return len(claimed)
