"""The registry of market data venues: each module of this package defines one `Venue`.

Adding a venue is one small module here with a `@register`ed `Venue` subclass; the admin's
choice of venue, the formula check and the sync find it through `VENUES`.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TypeVar

from obmin.rates.venues.base import Venue

VENUES: dict[str, Venue] = {}
V = TypeVar("V", bound=type[Venue])


def register(cls: V) -> V:
    VENUES[cls.name] = cls()
    return cls


def venue_choices() -> list[tuple[str, str]]:
    return sorted(((name, venue.title) for name, venue in VENUES.items()),
                  key=lambda choice: choice[1])


for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")
