"""Reads of the exchanger that several places share (the exchange page, the home page)."""

from __future__ import annotations

from obmin.exchange.models import Direction


def active_directions() -> list[Direction]:
    return list(
        Direction.objects.active().select_related("currency_give", "currency_get")
        .order_by("currency_give__code", "currency_get__code", "city")
    )


def find_direction(cur_from: str, cur_to: str, city: str = "") -> Direction | None:
    """The active direction between two codes (case-insensitive), or None."""
    queryset = Direction.objects.active().select_related("currency_give", "currency_get").filter(
        currency_give__code=cur_from.upper(), currency_get__code=cur_to.upper())
    if city:
        queryset = queryset.filter(city=city.upper())
    return queryset.order_by("city").first()
