"""Reads of the exchanger that several places share (the exchange page, the home page, the
/ref/ redirect, the operator's desk)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from obmin.exchange.models import (
    Direction,
    Exchange,
    ExchangeStatus,
    ExchangeStatusChange,
    normalize_currency_code,
)


def active_directions() -> list[Direction]:
    """The directions customers, partners' tables and bots may see now: active, with a rate
    that may be offered (none the market sync has hidden, none past its validity)."""
    return list(
        Direction.objects.offered(timezone.now()).select_related("currency_give", "currency_get")
        .order_by("currency_give__code", "currency_get__code", "city")
    )


def find_direction(cur_from: str, cur_to: str, city: str = "") -> Direction | None:
    """The active direction between two codes (case-insensitive), or None."""
    queryset = Direction.objects.active().select_related("currency_give", "currency_get").filter(
        currency_give__code=normalize_currency_code(cur_from),
        currency_get__code=normalize_currency_code(cur_to))
    if city:
        queryset = queryset.filter(city=city.upper())
    return queryset.order_by("city").first()


@dataclass(frozen=True)
class DirectionTable:
    """The currency codes the active directions pair: what a link may preselect."""

    pairs: frozenset[tuple[str, str]]
    gives: frozenset[str]
    gets: frozenset[str]

    @classmethod
    def of(cls, directions: Iterable[Direction]) -> DirectionTable:
        codes = [(d.currency_give.code, d.currency_get.code) for d in directions]
        return cls(pairs=frozenset(codes), gives=frozenset(give for give, _get in codes),
                   gets=frozenset(get for _give, get in codes))

    def preselect(self, cur_from: str, cur_to: str) -> dict[str, str]:
        """What the exchange page preselects for a link's `cur_from` and `cur_to` (normalised
        codes): both when that pair is offered, else the side that is offered, the give side
        first, else nothing."""
        if (cur_from, cur_to) in self.pairs:
            return {"cur_from": cur_from, "cur_to": cur_to}
        if cur_from in self.gives:
            return {"cur_from": cur_from}
        if cur_to in self.gets:
            return {"cur_to": cur_to}
        return {}


@dataclass(frozen=True)
class AskedField:
    """A field a direction asks of the customer, by Premium's name (`account2`, `cf6`...)."""

    name: str
    label: str
    tooltip: str
    required: bool
    is_email: bool = False

    @property
    def is_account(self) -> bool:
        """Whether it holds an account (account1, account2) or the e-mail, which are typed in
        one script; the other fields (names, phones, comments) may be in any."""
        return self.is_email or self.name in ("account1", "account2")

    @property
    def side(self) -> str:
        """Where Premium lists it: `give` (account1, cfgiveN), `get` (account2, cfgetN) or
        `dir` (cfN, the direction's own)."""
        if self.name == "account1" or self.name.startswith("cfgive"):
            return "give"
        if self.name == "account2" or self.name.startswith("cfget"):
            return "get"
        return "dir"


def direction_fields(direction: Direction) -> list[AskedField]:
    """The fields a direction asks, in the operator's order: its `DirectionField` rows, plus
    `account2` (the receiving account) and its e-mail field, always asked and required."""
    uk = (get_language() or "").startswith("uk")
    asked: dict[str, AskedField] = {}
    for row in direction.asked_fields.all():
        is_email = row.name == direction.email_field
        asked[row.name] = AskedField(
            name=row.name, label=(row.label_uk if uk and row.label_uk else row.label),
            tooltip=row.tooltip, required=row.required or is_email or row.name == "account2",
            is_email=is_email)
    defaults = {"account2": AskedField("account2", _("Your account / wallet to receive"), "",
                                       True),
                direction.email_field: AskedField(direction.email_field, _("E-mail"), "", True,
                                                  is_email=True)}
    for name, default in defaults.items():
        asked.setdefault(name, default)
    return list(asked.values())


# Exchanges waiting for the operator: the customer says paid, or the money has arrived and
# the payout is still to be sent.
WAITING_FOR_OPERATOR = (ExchangeStatus.PAID, ExchangeStatus.RECEIVED)


def exchanges_waiting() -> QuerySet[Exchange]:
    """The operator's queue, newest claims first."""
    return (Exchange.objects.filter(status__in=WAITING_FOR_OPERATOR)
            .select_related("currency_give", "currency_get", "direction", "partner__user")
            .order_by("-status_changed_at", "-id"))


def exchanges_waiting_count() -> int:
    return Exchange.objects.filter(status__in=WAITING_FOR_OPERATOR).count()


def usual_processing_minutes(direction_id: int, *, sample: int = 50) -> int | None:
    """How long the last `sample` successful exchanges of a direction took from the
    customer's "I have paid" to success, the median in whole minutes (None: none yet)."""
    paid_at = dict(ExchangeStatusChange.objects.filter(
        exchange__direction_id=direction_id, status=ExchangeStatus.PAID)
        .order_by("-created_at").values_list("exchange_id", "created_at")[:sample * 4])
    done = (ExchangeStatusChange.objects.filter(
        exchange_id__in=list(paid_at), status=ExchangeStatus.SUCCESS)
        .order_by("-created_at").values_list("exchange_id", "created_at")[:sample])
    waits = sorted((finished - paid_at[exchange_id]).total_seconds()
                   for exchange_id, finished in done if finished >= paid_at[exchange_id])
    if not waits:
        return None
    return max(1, round(waits[len(waits) // 2] / 60))
