"""Changes to partners' postbacks and deliveries: set up (at most five, each URL checked), queue
an event's deliveries, send a test event, resend. The sending itself is `delivery.py`'s."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from obmin.lib import netguard
from obmin.lib.errors import Refused
from obmin.lib.ratelimit import in_minutes, seconds_to_wait
from obmin.partners.models import Partner
from obmin.postbacks.models import (
    MAX_PER_PARTNER,
    DeliveryStatus,
    Event,
    Method,
    Postback,
    PostbackDelivery,
    PostbackSecret,
    new_secret,
)
from obmin.postbacks.payloads import Payload, render_body, render_url
from obmin.postbacks.selectors import CLICK_SUBSCRIBERS_KEY
from obmin.rewards.models import ACCOUNTING_CURRENCY

logger = logging.getLogger(__name__)

# Retries go on for at least this long after the event (or after a resend), then it fails.
RETRY_WINDOW = timedelta(hours=24)
URL_MAX_LENGTH = 2000


class PostbackError(Refused):
    """A refused postback change; `field` names the form field at fault."""


def postback_secret(*, partner: Partner) -> str:
    """The partner's signing secret (made on first use)."""
    row, _created = PostbackSecret.objects.get_or_create(partner=partner)
    return row.secret


def postback_secret_rotate(*, partner: Partner) -> str:
    """A new signing secret; deliveries from now on (retries included) are signed with it."""
    secret = new_secret()
    PostbackSecret.objects.update_or_create(
        partner=partner, defaults={"secret": secret, "created_at": timezone.now()})
    return secret


def _clean(url: str, method: str, events: list[str] | str, *,
           partner: Partner) -> tuple[str, str, list[str]]:
    url = url.strip()
    if not url:
        raise PostbackError(_("Enter the postback URL."), "url")
    if len(url) > URL_MAX_LENGTH:
        raise PostbackError(_("The URL is longer than %(n)s characters.") % {"n": URL_MAX_LENGTH},
                            "url")
    try:
        # Stored normalised (IDNA host, percent-encoded path and query), so what is sent is
        # what was checked and signed. Macros in the host would be resolved as a name: the
        # URL is checked with them as they stand (no name has braces).
        url = netguard.url_normalize(url)
        netguard.url_checked(render_url(url, {}), owner=partner.pk)
    except netguard.SendFailed as refused:
        raise PostbackError(refused.reason, "url") from None
    method = method.strip().upper()
    if method not in Method.values:
        raise PostbackError(_("The method must be GET or POST."), "method")
    names = [e.strip() for e in (events.split(",") if isinstance(events, str) else events)]
    names = [e for e in dict.fromkeys(names) if e]
    unknown = [e for e in names if e not in Event.values]
    if unknown:
        raise PostbackError(_("Unknown event(s): %(names)s. Known: %(known)s.")
                            % {"names": ", ".join(unknown), "known": ", ".join(Event.values)},
                            "events")
    if not names:
        raise PostbackError(_("Choose at least one event."), "events")
    return url, method, [e for e in Event.values if e in names]


def _save_refusal(partner: Partner) -> PostbackError | None:
    """Saves and test events count against `POSTBACK_SAVE_RATE` per partner: each resolves a
    partner-given host name (a save) or calls it (a test)."""
    wait = seconds_to_wait("postback_save", str(partner.pk), settings.POSTBACK_SAVE_RATE)
    if wait is not None:
        return PostbackError(_("Too many postback changes; please try again in %(minutes)s "
                               "min.") % {"minutes": in_minutes(wait)}, "url", retry_after=wait)
    return None


def _limit(partner: Partner) -> None:
    refused = _save_refusal(partner)
    if refused is not None:
        raise refused


def _forget_click_subscribers() -> None:
    cache.delete(CLICK_SUBSCRIBERS_KEY)


def postback_create(*, partner: Partner, url: str, method: str = Method.GET,
                    events: list[str] | str) -> Postback:
    """A new postback of the partner's (at most five); the URL must be acceptable now."""
    _limit(partner)
    url, method, names = _clean(url, method, events, partner=partner)
    with transaction.atomic():
        # Counted under the partner's row lock, so two saves at once cannot make a sixth.
        Partner.objects.select_for_update().filter(pk=partner.pk).first()
        if Postback.objects.filter(partner=partner).count() >= MAX_PER_PARTNER:
            raise PostbackError(_("At most %(n)s postbacks per partner.")
                                % {"n": MAX_PER_PARTNER}, "url")
        postback = Postback.objects.create(partner=partner, url=url, method=method,
                                           events=names)
        PostbackSecret.objects.get_or_create(partner=partner)
        transaction.on_commit(_forget_click_subscribers)
    return postback


def _own(partner: Partner, postback_id: int | str) -> Postback:
    try:
        return Postback.objects.get(pk=int(postback_id), partner=partner)
    except (Postback.DoesNotExist, ValueError, TypeError):
        raise PostbackError(_("No such postback."), "postback_id") from None


def postback_update(*, partner: Partner, postback_id: int | str, url: str, method: str,
                    events: list[str] | str, is_active: bool = True) -> Postback:
    postback = _own(partner, postback_id)
    _limit(partner)
    postback.url, postback.method, postback.events = _clean(url, method, events,
                                                            partner=partner)
    postback.is_active = is_active
    postback.save()
    transaction.on_commit(_forget_click_subscribers)
    return postback


def postback_delete(*, partner: Partner, postback_id: int | str) -> None:
    """Removes the postback and its delivery log."""
    _own(partner, postback_id).delete()
    transaction.on_commit(_forget_click_subscribers)


def _delivery(postback: Postback, payload: Payload, *, now: datetime,
              test: bool = False) -> PostbackDelivery:
    is_post = postback.method == Method.POST
    return PostbackDelivery(
        partner_id=postback.partner_id, postback=postback, event=payload.event, is_test=test,
        method=postback.method,
        url=postback.url.strip() if is_post else render_url(postback.url, payload.macros),
        body=render_body(payload, test=test) if is_post else "",
        created_at=now, next_attempt_at=now, give_up_at=now + RETRY_WINDOW)


def postback_events_queue(payloads: list[Payload]) -> int:
    """Queues a delivery of each event to each of its partner's postbacks that wants it;
    returns how many. Called once the transaction that made the events has committed."""
    wanted = [p for p in payloads if p is not None]
    if not wanted:
        return 0
    now = timezone.now()
    by_partner: dict[int, list[Postback]] = {}
    for postback in Postback.objects.filter(partner_id__in={p.partner_id for p in wanted},
                                            is_active=True):
        by_partner.setdefault(postback.partner_id, []).append(postback)
    rows = [_delivery(postback, payload, now=now)
            for payload in wanted for postback in by_partner.get(payload.partner_id, [])
            if postback.wants(payload.event)]
    _over_the_cap(rows, now)
    PostbackDelivery.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def _over_the_cap(rows: list[PostbackDelivery], now: datetime) -> None:
    """Marks failed, unsent, the deliveries beyond `POSTBACK_MAX_PENDING` pending ones of a
    partner (a receiver that is down, or a flood of clicks): one partner's backlog cannot
    grow without bound. They stay in the partner's log, where *Resend* sends one."""
    cap = settings.POSTBACK_MAX_PENDING
    partners = {row.partner_id for row in rows}
    pending = dict(PostbackDelivery.objects
                   .filter(partner_id__in=partners, status=DeliveryStatus.PENDING)
                   .values("partner_id").annotate(n=Count("id")).values_list("partner_id", "n"))
    note = (_("Not sent: over %(n)s deliveries were waiting.") % {"n": cap})[:255]
    for row in rows:
        waiting = pending.get(row.partner_id, 0)
        if waiting >= cap:
            row.status, row.next_attempt_at, row.finished_at = DeliveryStatus.FAILED, None, now
            row.last_result = note
        else:
            pending[row.partner_id] = waiting + 1


def postback_events_queue_in_transaction(payloads: list[Payload | None]) -> None:
    """Queues the deliveries in the transaction of their cause, so they commit with it (none if
    it rolls back) and no crash between the two can lose one; in a savepoint, so a failure here
    is logged and never undoes what caused the event."""
    wanted = [p for p in payloads if p is not None]
    if not wanted:
        return
    try:
        with transaction.atomic():
            postback_events_queue(wanted)
    except Exception:
        logger.exception("could not queue postbacks for %s event(s)", len(wanted))


def _sample(event: str, partner: Partner, now: datetime) -> Payload:
    """A made-up event of this kind, for the partner's "send a test event"."""
    at = int(now.timestamp())
    macros = {"event": event, "exchange_id": "12345", "status": "success", "reward": "1.25",
              "currency": ACCOUNTING_CURRENCY, "amount_give": "100", "amount_get": "0.0015",
              "user_hash": "0123456789abcdef0123456789abcdef", "sub1": "test", "sub2": "",
              "sub3": "", "sub4": "", "sub5": "", "time": str(at)}
    data: dict[str, str | int | Decimal] = {
        "id": 12345, "time": at, "status": "success", "amount_give": Decimal(100),
        "amount_get": Decimal("0.0015"), "currency_code_give": "PMUSD",
        "currency_code_get": "BTC", "partner_reward": Decimal("1.25"),
        "user_hash": macros["user_hash"], "sub1": "test", "sub2": "", "sub3": "", "sub4": "",
        "sub5": ""}
    return Payload(event, partner.pk, at, macros, data)


def postback_send_test(*, partner: Partner, postback_id: int | str) -> PostbackDelivery:
    """Queues a made-up event (its first subscribed kind) to this postback, marked as a test
    (`"test": true` in a POST body, `X-Obmin-Test: 1`); the worker sends it at once."""
    postback = _own(partner, postback_id)
    _limit(partner)
    now = timezone.now()
    event = postback.events[0] if postback.events else Event.EXCHANGE_SUCCESS
    delivery = _delivery(postback, _sample(event, partner, now), now=now, test=True)
    delivery.save()
    return delivery


def delivery_resend(*, partner: Partner, delivery_id: int | str) -> PostbackDelivery:
    """Sends the delivery again soon (same delivery id, same request), retried as if new."""
    with transaction.atomic():
        try:
            delivery = (PostbackDelivery.objects.select_for_update()
                        .get(pk=int(delivery_id), partner=partner))
        except (PostbackDelivery.DoesNotExist, ValueError, TypeError):
            raise PostbackError(_("No such delivery."), "delivery_id") from None
        now = timezone.now()
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = now
        delivery.give_up_at = now + RETRY_WINDOW
        delivery.finished_at = None
        delivery.save(update_fields=["status", "next_attempt_at", "give_up_at", "finished_at"])
    return delivery
