"""What turns the lower rooms' hooks into postbacks, connected in `PostbacksConfig.ready`.

Each receiver runs inside the transaction that caused the event, builds the event's payload
from the rows at hand (no query), and queues the deliveries in that transaction: they commit
with their cause or not at all (a process killed in between loses none), and nothing is sent
during the visitor's request (the worker sends).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from obmin.exchange.models import Exchange, ExchangeStatus
from obmin.postbacks.models import Event
from obmin.postbacks.payloads import (
    StoredClick,
    click_payload,
    exchange_payload,
    ledger_payload,
)
from obmin.postbacks.selectors import click_subscribers
from obmin.postbacks.services import postback_events_queue_in_transaction
from obmin.rewards.models import LedgerEntry


def on_exchange_created(sender: object, *, exchange: Exchange, **kwargs: object) -> None:
    postback_events_queue_in_transaction(
        [exchange_payload(Event.EXCHANGE_CREATED, exchange, exchange.created_at)])


def on_exchange_status_changed(sender: object, *, exchange: Exchange, status: str,
                               **kwargs: object) -> None:
    if status == ExchangeStatus.SUCCESS:
        postback_events_queue_in_transaction(
            [exchange_payload(Event.EXCHANGE_SUCCESS, exchange, timezone.now())])


def on_ledger_entry_posted(sender: object, *, entry: LedgerEntry, **kwargs: object) -> None:
    postback_events_queue_in_transaction([ledger_payload(entry)])


def on_clicks_stored(sender: object, *, clicks: Iterable[StoredClick], **kwargs: object) -> None:
    # Every stored click passes here: without a partner wanting clicks, this costs no query.
    wanted = click_subscribers()
    if wanted:
        postback_events_queue_in_transaction(
            [click_payload(click) for click in clicks if click.partner_id in wanted])
