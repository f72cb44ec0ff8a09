"""State changes of the exchanger: creating an exchange and moving it through its statuses.

Every status change, from the admin, the customer's "I have paid" button, the command line or
anything else, goes through `exchange_set_status`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from obmin.exchange.accounts import AccountFormat, account_normalize
from obmin.exchange.hooks import exchange_created, exchange_status_changed, rates_changed
from obmin.exchange.models import (
    Currency,
    Direction,
    Exchange,
    ExchangeStatus,
    ExchangeStatusChange,
)
from obmin.lib.errors import Refused
from obmin.lib.ipmask import normalize_ip
from obmin.lib.models import SOURCE_FIELDS, SOURCE_MAX_LENGTH
from obmin.lib.money import plain, quantize, quantize_down
from obmin.lib.ratelimit import in_minutes, seconds_to_wait
from obmin.lib.text import (
    character_name,
    foreign_letter,
    hidden_character,
    normalize_email,
    plain_spaces,
)

S = ExchangeStatus
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    S.NEW: {S.PAID, S.RECEIVED, S.SUCCESS, S.ERROR, S.CANCELLED},
    S.PAID: {S.RECEIVED, S.SUCCESS, S.ERROR, S.CANCELLED},
    S.RECEIVED: {S.SUCCESS, S.ERROR, S.CANCELLED},
    S.SUCCESS: {S.ERROR, S.CANCELLED},
    S.ERROR: {S.PAID, S.RECEIVED, S.SUCCESS, S.CANCELLED},
    S.CANCELLED: {S.PAID, S.RECEIVED, S.SUCCESS, S.ERROR},
}
# What the customer ("I have paid"), their bot (API v1: pay and cancel) and the unpaid-deadline
# duty may do, checked under the row lock whoever calls: only a new exchange is claimed paid or
# given up, so none of them moves a cancelled exchange or cancels a paid one, however a race
# between what they saw and the lock falls. Other actors (the operator) have ALLOWED_TRANSITIONS.
ACTOR_TRANSITIONS: dict[str, dict[str, set[str]]] = {
    "customer": {S.NEW: {S.PAID}},
    "api": {S.NEW: {S.PAID, S.CANCELLED}},
    "deadline": {S.NEW: {S.CANCELLED}},
}
# Where a transaction id given with a status change is kept on the exchange.
TXID_FIELD: dict[str, str] = {S.PAID: "customer_txid", S.RECEIVED: "customer_txid",
                              S.SUCCESS: "payout_txid"}


class ExchangeError(Refused):
    """A refused exchange request; `field` names the form field or parameter at fault."""


@dataclass(frozen=True)
class Quote:
    direction: Direction
    amount_give: Decimal
    amount_get: Decimal


def quote(direction: Direction, amount_give: Decimal) -> Quote:
    """What the customer gets for `amount_give`, after the give-side percent and fixed fees."""
    after_fee = amount_give * (Decimal(1) - direction.fee_give_percent / Decimal(100))
    gross = after_fee * direction.rate_get / direction.rate_give
    amount_get = quantize_down(gross - direction.fee_get, direction.currency_get.decimals)
    return Quote(direction, amount_give, max(amount_get, Decimal(0)))


def quote_for_get(direction: Direction, amount_get: Decimal) -> Quote:
    """The smallest amount to give (in the give currency's decimals) for which the customer
    gets at least `amount_get`: the exchange form's "amount to receive"."""
    keep = Decimal(1) - direction.fee_give_percent / Decimal(100)
    if amount_get <= 0 or keep <= 0 or direction.rate_get <= 0:
        return Quote(direction, Decimal(0), Decimal(0))
    unit = Decimal(1).scaleb(-direction.currency_give.decimals)
    exact = (amount_get + direction.fee_get) * direction.rate_give / direction.rate_get / keep
    amount_give = quantize(exact, direction.currency_give.decimals, ROUND_UP)
    # Rounding the get side down may leave it a hair short: one more unit then covers it.
    q = quote(direction, amount_give)
    return q if q.amount_get >= amount_get else quote(direction, amount_give + unit)


def check_quote(q: Quote) -> None:
    """Raises ExchangeError when the amount is outside the limits or beyond the reserve."""
    d = q.direction
    give_code, get_code = d.currency_give.code, d.currency_get.code
    if q.amount_give <= 0:
        raise ExchangeError(_("Enter an amount greater than zero."), "amount_give")
    decimals = d.currency_give.decimals
    if q.amount_give != quantize_down(q.amount_give, decimals):
        raise ExchangeError(
            _("%(code)s has at most %(n)s digits after the point.")
            % {"code": give_code, "n": decimals}, "amount_give")
    if q.amount_give < d.min_amount:
        raise ExchangeError(
            _("The minimum for this direction is %(min)s %(code)s.")
            % {"min": plain(d.min_amount), "code": give_code}, "amount_give")
    if d.max_amount and q.amount_give > d.max_amount:
        raise ExchangeError(
            _("The maximum for this direction is %(max)s %(code)s.")
            % {"max": plain(d.max_amount), "code": give_code}, "amount_give")
    if q.amount_get <= 0:
        raise ExchangeError(_("The amount does not cover the fees."), "amount_give")
    if q.amount_get > d.currency_get.reserve:
        raise ExchangeError(
            _("We can send at most %(reserve)s %(code)s now (our reserve).")
            % {"reserve": plain(d.currency_get.reserve), "code": get_code}, "amount_give")


def typed_text(value: str, *, field: str, one_script: bool = True) -> str:
    """What a person typed or pasted into an account, wallet, address, tag or e-mail field
    (`one_script`), or into a name or a comment: its spaces made plain (`plain_spaces`), or
    ExchangeError naming `field` and the character when it holds one that is invisible or
    changes the text's direction, or (`one_script`) a letter of another script among Latin
    ones. A wrong wallet is caught before it costs the customer money."""
    value = plain_spaces(value)
    hidden = hidden_character(value)
    if hidden is not None:
        raise ExchangeError(
            _("This holds an invisible or text-direction character (%(char)s): what you see "
              "is not what would be used. Type it in again rather than pasting it.")
            % {"char": character_name(hidden)}, field)
    foreign = foreign_letter(value) if one_script else None
    if foreign is not None:
        raise ExchangeError(
            _('This mixes Latin letters with a letter of another script (%(char)s, '
              '"%(letter)s"), which may look like a Latin one but is another character. '
              'Type it in again in Latin letters.')
            % {"char": character_name(foreign), "letter": foreign}, field)
    return value


def check_account(*, currency: Currency, account: str) -> str:
    """The customer's receiving account as kept, or ExchangeError naming the character at
    fault (`typed_text`) or the format expected."""
    account = typed_text(account, field="account_get")
    normalized = account_normalize(currency.account_format, account)
    if normalized is None:
        expected = AccountFormat(currency.account_format).label
        raise ExchangeError(
            _("Enter a valid %(format)s to receive %(code)s.")
            % {"format": expected, "code": currency.code}, "account_get")
    return normalized


def exchange_rate_limit_refusal(*, client_ip: str, user_hash: str,
                                increment: bool = True) -> ExchangeError | None:
    """The refusal of one more new exchange from this client address or visitor (`obmin_vid`
    cookie's user_hash), or None when it is within the rates (`EXCHANGE_RATE_PER_IP`,
    `EXCHANGE_RATE_PER_VISITOR`). Counts this attempt unless `increment` is off.

    The exchange form and the API's `create_bid` both ask it before anything is created, so
    neither can be used to flood the exchanger with unpaid exchanges. Counters live in the
    shared cache (django-ratelimit); a cache outage lets requests through.
    """
    limits = [("exchange_create:ip", client_ip or "unknown", settings.EXCHANGE_RATE_PER_IP)]
    if user_hash:
        limits.append(("exchange_create:visitor", user_hash, settings.EXCHANGE_RATE_PER_VISITOR))
    refused: ExchangeError | None = None
    for group, value, rate in limits:
        wait = seconds_to_wait(group, value, rate, increment=increment)
        if wait is not None and refused is None:
            refused = ExchangeError(
                _("Too many exchange requests from your connection; please try again in "
                  "%(minutes)s min.") % {"minutes": in_minutes(wait)}, retry_after=wait)
    return refused


def exchange_create(
    *,
    direction: Direction,
    amount_give: Decimal,
    email: str,
    account_get: str,
    user_hash: str = "",
    partner_id: int | None = None,
    source: Mapping[str, str] | None = None,
    user_ip: str = "",
    language: str = "",
) -> Exchange:
    """Creates a new exchange at the direction's current rate, with its first status entry.

    `user_ip`: the customer's address (the API caller's for an API bid); anything that is not
    an IP address is stored as none.

    `language`: the customer's (their e-mails are written in it; "": the site's default).

    `source`: the traffic source of the click that referred it (sub1..sub5, utm_*, country:
    `hooks.Referrer.source()`), copied onto the row; other names are ignored.
    """
    with transaction.atomic():
        direction = (Direction.objects.select_related("currency_give", "currency_get")
                     .get(pk=direction.pk))
        if not (direction.is_active and direction.currency_give.is_active
                and direction.currency_get.is_active):
            raise ExchangeError(_("This exchange direction is not available now."), "cur_to")
        now = timezone.now()
        if direction.rate_withheld(now):
            # A market rate the sync cannot vouch for now (stale, failed, jumped): no exchange
            # at a rate that may be wrong; it comes back with the next sound rate.
            raise ExchangeError(_("The rate of this direction is being updated; please try "
                                  "again in a few minutes."), "cur_to")
        q = quote(direction, amount_give)
        check_quote(q)
        account_get = check_account(currency=direction.currency_get, account=account_get)
        email = typed_text(email, field="email")
        payment = direction.payment_details()
        exchange = Exchange.objects.create(
            direction=direction,
            currency_give=direction.currency_give,
            currency_get=direction.currency_get,
            amount_give=q.amount_give,
            **_priced(q),
            # Normalised once here, so the binding look-up is an indexed equality.
            email=normalize_email(email),
            account_get=account_get,
            user_hash=user_hash,
            user_ip=normalize_ip(user_ip) or None,
            partner_id=partner_id,
            created_at=now,
            status_changed_at=now,
            updated_at=now,
            pay_to=payment.pay_to,
            pay_memo=payment.memo,
            language=language[:8],
            pay_deadline=now + timedelta(minutes=payment.minutes) if payment.minutes else None,
            rate_held_until=(None if direction.rate_hold_minutes is None
                             else now + timedelta(minutes=direction.rate_hold_minutes)),
            **_source_columns(source or {}),
        )
        ExchangeStatusChange.objects.create(exchange=exchange, status=S.NEW, created_at=now,
                                            actor="customer")
        exchange_created.send(sender=Exchange, exchange=exchange)
    return exchange


def _priced(q: Quote) -> dict[str, object]:
    """What an exchange copies of its direction's price when it is quoted: at creation, and
    again when a floating rate's hold ended before the payment."""
    direction = q.direction
    return {"rate_give": direction.rate_give, "rate_get": direction.rate_get,
            "amount_get": q.amount_get, "profit_percent": direction.profit_percent,
            "usd_price_give": direction.currency_give.usd_price,
            "usd_price_get": direction.currency_get.usd_price}


def _source_columns(source: Mapping[str, str]) -> dict[str, str]:
    # Already cleaned by the referrer lookup; cut again to the columns, whoever calls.
    columns = {name: str(source.get(name) or "")[:SOURCE_MAX_LENGTH] for name in SOURCE_FIELDS}
    country = str(source.get("country") or "")
    columns["country"] = country if len(country) == 2 and country.isalpha() else ""
    return columns


def exchange_set_status(
    *, exchange_id: int, status: str, actor: str = "", note: str = "", txid: str = "",
    only_from: str | None = None,
) -> Exchange:
    """Moves an exchange to `status`: the one way a status ever changes.

    Locks the exchange row, records the change, moves reserves on entering or leaving success,
    and tells receivers of `exchange_status_changed` (rewards, connected in RewardsConfig.ready)
    in the same transaction. `only_from`: refuse unless the locked row is in that status (a
    caller that chose the exchange by its status before locking it). `txid`: the customer's
    payment (paid, received) or the payout's (success) transaction id, kept on the change and
    on the exchange.
    """
    txid = clean_txid(txid)
    for given in (status, only_from):
        if given is not None and given not in S.values:
            raise ExchangeError(
                _("Unknown status %(status)s; use one of: %(all)s.")
                % {"status": given, "all": ", ".join(S.values)}, "status")
    with transaction.atomic():
        try:
            exchange = Exchange.objects.select_for_update().get(pk=exchange_id)
        except Exchange.DoesNotExist:
            raise ExchangeError(_("No exchange #%(id)s.") % {"id": exchange_id}, "id") from None
        previous = exchange.status
        if only_from is not None and previous != only_from:
            raise ExchangeError(
                _("Exchange #%(id)s is %(status)s now, no longer %(expected)s.")
                % {"id": exchange_id, "status": S(previous).label,
                   "expected": S(only_from).label}, "status")
        if status == previous:
            raise ExchangeError(
                _("Exchange #%(id)s is already %(status)s.")
                % {"id": exchange_id, "status": S(status).label}, "status")
        allowed = ACTOR_TRANSITIONS.get(actor, ALLOWED_TRANSITIONS).get(previous, set())
        if status not in allowed or status not in ALLOWED_TRANSITIONS[previous]:
            raise ExchangeError(
                _("Exchange #%(id)s cannot go from %(old)s to %(new)s.")
                % {"id": exchange_id, "old": S(previous).label, "new": S(status).label},
                "status")
        now = timezone.now()
        exchange.status = status
        exchange.status_changed_at = now
        # What get_exchanges' `updated_since` selects on (incremental sync).
        exchange.updated_at = now
        # A new wait begins: the operator is told again if this one lasts too long.
        exchange.waiting_alerted_at = None
        changed = ["status", "status_changed_at", "updated_at", "waiting_alerted_at"]
        if txid and status in TXID_FIELD:
            setattr(exchange, TXID_FIELD[status], txid)
            changed.append(TXID_FIELD[status])
        if (previous == S.NEW and status in (S.PAID, S.RECEIVED)
                and exchange.rate_held_until is not None and now > exchange.rate_held_until):
            requote = _requote_after_hold(exchange, now)
            changed += requote.fields
            note = f"{requote.note} {note}".strip()
        exchange.save(update_fields=changed)
        ExchangeStatusChange.objects.create(exchange=exchange, status=status,
                                            previous_status=previous, created_at=now,
                                            actor=actor, note=note[:255], txid=txid)
        reserves_moved = S.SUCCESS in (status, previous)
        if reserves_moved:
            # The money really moved: we received amount_give and sent amount_get.
            sign = 1 if status == S.SUCCESS else -1
            Currency.objects.filter(pk=exchange.currency_get_id).update(
                reserve=F("reserve") - sign * exchange.amount_get)
            Currency.objects.filter(pk=exchange.currency_give_id).update(
                reserve=F("reserve") + sign * exchange.amount_give)
        exchange_status_changed.send(sender=Exchange, exchange=exchange,
                                     previous_status=previous, status=status, actor=actor)
        if reserves_moved:
            transaction.on_commit(lambda: rates_changed.send(sender=Currency))
    return exchange


@dataclass(frozen=True)
class Requote:
    fields: list[str]
    note: str


def _requote_after_hold(exchange: Exchange, now: datetime) -> Requote:
    """A floating rate's promise ended before the customer paid: the amount to receive follows
    the direction's rate now (up or down), the promised amount kept beside it. With no sound
    rate now (withheld, direction off) nothing changes and the note asks the operator."""
    direction = (Direction.objects.select_related("currency_give", "currency_get")
                 .get(pk=exchange.direction_id))
    if direction.rate_withheld(now) or not direction.is_active:
        return Requote([], "rate hold ended; no current rate to re-quote: operator to check.")
    q = quote(direction, exchange.amount_give)
    was = exchange.amount_get
    priced = {**_priced(q), "amount_get_held": was, "requoted_at": now}
    for field, value in priced.items():
        setattr(exchange, field, value)
    return Requote(
        list(priced),
        f"rate hold ended: re-quoted at {plain(direction.rate_give)} : "
        f"{plain(direction.rate_get)}, {plain(q.amount_get)} {direction.currency_get.code} "
        f"(was {plain(was)}).")


def exchange_record_reward(*, exchange: Exchange, amount: Decimal, accrued: bool) -> None:
    """Copies the partner's reward onto the exchange (`partner_reward`, `reward_accrued`).

    Called by the rewards room inside `exchange_set_status`'s transaction, with the row locked;
    the ledger stays the truth, these columns let lists show it without a join. A change moves
    `updated_at`, so incremental sync (`updated_since`) sees the accrual or reversal.
    """
    if exchange.partner_reward == amount and exchange.reward_accrued == accrued:
        return
    exchange.partner_reward = amount
    exchange.reward_accrued = accrued
    exchange.updated_at = max(timezone.now(), exchange.updated_at)
    Exchange.objects.filter(pk=exchange.pk).update(partner_reward=amount, reward_accrued=accrued,
                                                   updated_at=exchange.updated_at)


def clean_txid(value: str) -> str:
    """A transaction id as given by a person or a bot: printable ASCII without spaces around,
    at most 200 characters (hashes, explorer ids, bank references)."""
    value = (value or "").strip()
    if len(value) > 200 or any(not (32 < ord(ch) < 127) for ch in value):
        raise ExchangeError(
            _("A transaction id is up to 200 printable characters without spaces."), "txid")
    return value


def customer_mark_paid(*, token: str, txid: str = "") -> Exchange:
    """The customer's "I have paid" button, optionally with the payment's transaction id (the
    operator is told through the status hook: ops.alerts)."""
    exchange = Exchange.objects.filter(token=token).only("id", "status").first()
    if exchange is None:
        raise ExchangeError(_("No such exchange."))
    if exchange.status != S.NEW:
        raise ExchangeError(_("This exchange is already %(status)s.")
                            % {"status": exchange.get_status_display()})
    with transaction.atomic():
        try:
            # Checked again under the row lock: a cancel (the customer's bot, the deadline)
            # may have come between the read above and the lock.
            exchange = exchange_set_status(exchange_id=exchange.pk, status=S.PAID,
                                           actor="customer", txid=txid, only_from=S.NEW)
        except ExchangeError as error:
            if error.field != "status":
                raise
            current = Exchange.objects.get(pk=exchange.pk)
            raise ExchangeError(_("This exchange is already %(status)s.")
                                % {"status": current.get_status_display()}) from None
    return exchange


def exchange_cancel_overdue() -> int:
    """Cancels new exchanges left unpaid past their deadline (a duty of `obmin worker`);
    through `exchange_set_status`, so rewards and everything else that follows a status
    change follow this one too. Answers how many it cancelled."""
    overdue = Exchange.objects.filter(status=S.NEW, pay_deadline__lt=timezone.now())
    cancelled = 0
    for exchange_id in overdue.values_list("pk", flat=True)[:500]:
        try:
            # Only if still new once locked: "I have paid" or the operator may have come
            # between the query and the lock, and a paid exchange must not be cancelled.
            exchange_set_status(exchange_id=exchange_id, status=S.CANCELLED, actor="deadline",
                                note="not paid in time", only_from=S.NEW)
        except ExchangeError:
            continue  # paid (or changed) meanwhile: nothing to cancel
        cancelled += 1
    return cancelled
