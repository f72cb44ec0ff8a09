"""What a postback says about an event: the GET macros and the POST JSON (contract §8).

The JSON's `data` uses the partner API's field names (`id`, `course_give`, `partner_reward`...,
kept for compatibility with partners' scripts), plus the sub-IDs. Numbers are written from the
Decimal's own digits, never through a float.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, Protocol
from urllib.parse import quote

from obmin.exchange.models import Exchange, ExchangeStatus
from obmin.lib.money import plain
from obmin.lib.timeutil import to_unix, utc_date
from obmin.postbacks.models import Event
from obmin.rewards.models import ACCOUNTING_CURRENCY, EntryKind, LedgerEntry, Payout

SUBS = ("sub1", "sub2", "sub3", "sub4", "sub5")
MACROS = ("event", "exchange_id", "status", "reward", "currency", "amount_give", "amount_get",
          "user_hash", *SUBS, "time")
Value = str | int | Decimal


class Payload(NamedTuple):
    event: str
    partner_id: int
    time: int  # unix seconds
    macros: dict[str, str]
    data: dict[str, Value]


class StoredClick(Protocol):
    """A click as the click writer stores it (a `Click` row or the writer's own record)."""

    @property
    def partner_id(self) -> int | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def user_hash(self) -> str: ...


def _macros(event: str, moment: int, **values: Value) -> dict[str, str]:
    macros = dict.fromkeys(MACROS, "")
    macros.update({name: plain(v) if isinstance(v, Decimal) else str(v)
                   for name, v in values.items()})
    macros["event"], macros["time"] = event, str(moment)
    return macros


def _subs(row: object) -> dict[str, str]:
    return {name: str(getattr(row, name, "") or "") for name in SUBS}


def _click_id(uid: object) -> str:
    # The canonical text of the click's uuid, whichever writer stored it (a Click row holds a
    # UUID, the redirect's and the worker's ClickData 32 hex digits).
    return str(uuid.UUID(str(uid))) if uid else ""


def click_payload(click: StoredClick) -> Payload | None:
    if click.partner_id is None:
        return None
    moment = to_unix(click.created_at)
    subs = _subs(click)
    data: dict[str, Value] = {
        "id": _click_id(getattr(click, "uid", "")), "time": moment,
        "date": utc_date(click.created_at), "browser": str(getattr(click, "browser", "")),
        "ip": str(getattr(click, "ip", "")), "referrer": str(getattr(click, "referrer", "")),
        "user_hash": click.user_hash, "query_string": str(getattr(click, "query_string", "")),
        **subs, "country": str(getattr(click, "country", "") or ""),
    }
    return Payload(Event.CLICK, click.partner_id, moment,
                   _macros(Event.CLICK, moment, user_hash=click.user_hash, **subs), data)


def _exchange_data(exchange: Exchange) -> dict[str, Value]:
    return {
        "id": exchange.pk, "time": to_unix(exchange.created_at),
        "date": utc_date(exchange.created_at),
        "course_give": exchange.rate_give, "course_get": exchange.rate_get,
        "amount_give": exchange.amount_give, "amount_get": exchange.amount_get,
        "currency_code_give": exchange.currency_give.code,
        "currency_code_get": exchange.currency_get.code,
        "status": exchange.status,
        "exchange_success": int(exchange.status == ExchangeStatus.SUCCESS),
        "accrued": int(exchange.reward_accrued), "partner_reward": exchange.partner_reward,
        "user_hash": exchange.user_hash, **_subs(exchange),
        "country": str(getattr(exchange, "country", "") or ""),
    }


def exchange_payload(event: Event, exchange: Exchange, moment: datetime) -> Payload | None:
    if exchange.partner_id is None:
        return None
    at = to_unix(moment)
    return Payload(event, exchange.partner_id, at, _macros(
        event, at, exchange_id=exchange.pk, status=exchange.status,
        reward=exchange.partner_reward, currency=ACCOUNTING_CURRENCY,
        amount_give=exchange.amount_give, amount_get=exchange.amount_get,
        user_hash=exchange.user_hash, **_subs(exchange)), _exchange_data(exchange))


def ledger_payload(entry: LedgerEntry) -> Payload | None:
    """reward.credited / reward.reversed / payout.paid for a ledger entry; None for the
    entries no postback reports (payout holds and releases, hold releases)."""
    at = to_unix(entry.created_at)
    # The operator's rejection takes a reward back like a reversal: reward.reversed.
    if entry.kind in (EntryKind.CREDIT, EntryKind.REVERSAL, EntryKind.REJECTION) \
            and entry.exchange_id:
        event = Event.REWARD_CREDITED if entry.kind == EntryKind.CREDIT else \
            Event.REWARD_REVERSED
        exchange = entry.exchange
        assert exchange is not None
        # The reward is the amount credited or taken back, always positive: the event says
        # which. A second-tier reward comes from another partner's exchange, whose sub-IDs
        # and visitor are not this partner's to see.
        reward = abs(entry.amount)
        # (The second tier is being added beside this: read the tier where there is one.)
        tier = int(getattr(entry, "tier", 1))
        own = tier == 1
        data: dict[str, Value] = {"id": exchange.pk, "status": exchange.status}
        extra: dict[str, Value] = {}
        if own:
            data = _exchange_data(exchange)
            extra = {"amount_give": exchange.amount_give, "amount_get": exchange.amount_get,
                     "user_hash": exchange.user_hash, **_subs(exchange)}
        data.update({"reward": reward, "currency": ACCOUNTING_CURRENCY, "tier": tier})
        macros = _macros(event, at, exchange_id=exchange.pk, status=exchange.status,
                         reward=reward, currency=ACCOUNTING_CURRENCY, **extra)
        return Payload(event, entry.partner_id, at, macros, data)
    if entry.kind == EntryKind.PAYOUT_PAID and entry.payout_id:
        payout = entry.payout
        assert payout is not None
        return payout_payload(payout, at)
    return None


def payout_payload(payout: Payout, at: int) -> Payload:
    data: dict[str, Value] = {
        "id": payout.pk, "time": to_unix(payout.created_at), "date": utc_date(payout.created_at),
        "method_id": payout.method_id, "account": payout.account,
        "pay_amount": payout.amount, "pay_currency_code": payout.currency_code,
        "original_amount": payout.original_amount,
        "original_currency_code": payout.original_currency_code, "status": int(payout.status),
    }
    return Payload(Event.PAYOUT_PAID, payout.partner_id, at, _macros(
        Event.PAYOUT_PAID, at, status="paid", reward=payout.original_amount,
        currency=payout.original_currency_code), data)


_MACRO = re.compile(r"\{(\w+)\}")


def render_url(template: str, macros: dict[str, str]) -> str:
    """The URL with each known `{macro}` replaced by its value, URL-encoded; unknown braces
    are left as they are."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return quote(macros[name], safe="") if name in macros else match.group(0)

    return _MACRO.sub(value, template)


def _json_value(value: Value) -> str:
    if isinstance(value, Decimal):
        return plain(value)
    return json.dumps(value, ensure_ascii=False)


def render_body(payload: Payload, *, test: bool = False) -> str:
    """`{"event": ..., "time": <unix>, "data": {...}}` (with `"test": true` for a test event)."""
    data = ", ".join(f"{json.dumps(key)}: {_json_value(value)}"
                     for key, value in payload.data.items())
    test_part = ', "test": true' if test else ""
    return (f'{{"event": {json.dumps(payload.event)}, "time": {payload.time}{test_part}, '
            f'"data": {{{data}}}}}')
