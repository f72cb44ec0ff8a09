"""Where /ref/ sends a visitor: the exchange page of the direction a monitor linked to.

The active directions are read once into a small table kept in the shared cache (and for a few
seconds in each process), dropped whenever rates or directions change (`rates_changed`), so a
click costs no query for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.cache import cache
from django.urls import reverse

from obmin.exchange.selectors import active_directions
from obmin.partners.memo import Memo

CACHE_KEY = "partners:routes:v1"
# A safety net only: saves and status changes drop the table at once.
CACHE_SECONDS = 60
_memo = Memo(5)
# The answer per (cur_from, cur_to) as well: building it costs more than the rest of a click.
_targets = Memo(5, max_entries=4096)
CODE = re.compile(r"[A-Z0-9]{2,20}")


@dataclass(frozen=True)
class Routes:
    pairs: frozenset[tuple[str, str]]
    gives: frozenset[str]
    gets: frozenset[str]


def routes() -> Routes:
    return _memo.through_cache(CACHE_KEY, _read_routes, cache_seconds=CACHE_SECONDS,
                               kind=Routes)


def _read_routes() -> Routes:
    directions = active_directions()
    return Routes(
        pairs=frozenset((d.currency_give.code, d.currency_get.code) for d in directions),
        gives=frozenset(d.currency_give.code for d in directions),
        gets=frozenset(d.currency_get.code for d in directions),
    )


def forget_routes(**kwargs: object) -> None:
    """Receiver of `rates_changed`."""
    cache.delete(CACHE_KEY)
    _memo.clear()
    _targets.clear()


def currency_code(value: str | None) -> str:
    """A monitoring code as it arrived in a URL, upper-cased; "" when it cannot be one."""
    code = (value or "").strip().upper()
    return code if CODE.fullmatch(code) else ""


def ref_target(cur_from: str, cur_to: str) -> str:
    """The exchange page of `cur_from → cur_to` when that direction is active; with only one
    side known, the exchange page with that side preselected (the give side first); else home.
    """
    cur_from, cur_to = currency_code(cur_from), currency_code(cur_to)
    key = (cur_from, cur_to)
    target = _targets.get(key)
    if target is None:
        target = _target(cur_from, cur_to)
        _targets.set(key, target)
    return target


def _target(cur_from: str, cur_to: str) -> str:
    if not cur_from and not cur_to:
        return reverse("exchange:home")
    table = routes()
    if (cur_from, cur_to) in table.pairs:
        query = {"cur_from": cur_from, "cur_to": cur_to}
    elif cur_from in table.gives:
        query = {"cur_from": cur_from}
    elif cur_to in table.gets:
        query = {"cur_to": cur_to}
    else:
        return reverse("exchange:home")
    return f"{reverse('exchange:form')}?{urlencode(query)}"
