"""Reads of the exchanger that several places share (the exchange page, the home page, the
/ref/ redirect)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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
