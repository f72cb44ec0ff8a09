"""Reads of the exchanger that several places share (the exchange page, the home page, the
/ref/ redirect)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from obmin.exchange.models import Direction, normalize_currency_code


def active_directions() -> list[Direction]:
    return list(
        Direction.objects.active().select_related("currency_give", "currency_get")
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
