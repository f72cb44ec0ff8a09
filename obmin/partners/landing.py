"""Where /ref/ lands a visitor: the exchange page of the direction a monitor linked to.

The active directions are read once into a small table kept in the shared cache (and for a few
seconds in each process), dropped whenever rates or directions change (`rates_changed`, see
`PartnersConfig.ready`), so a click costs no query for it. Which side a link preselects is the
exchange page's own rule (`DirectionTable.preselect`).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.core.cache import cache
from django.db import DatabaseError
from django.urls import reverse

from obmin.exchange.models import CURRENCY_CODE_PATTERN, normalize_currency_code
from obmin.exchange.selectors import DirectionTable, active_directions
from obmin.lib.memo import Memo

CACHE_KEY = "partners:directions:v2"
# A safety net only: saves and status changes drop the table at once.
CACHE_SECONDS = 60
_memo = Memo(5)
# The answer per (cur_from, cur_to) as well: building it costs more than the rest of a click.
_urls = Memo(5, max_entries=4096)
_CURRENCY_CODE = re.compile(CURRENCY_CODE_PATTERN)


def direction_table() -> DirectionTable:
    return _memo.through_cache(CACHE_KEY, _read_table, cache_seconds=CACHE_SECONDS,
                               kind=DirectionTable)


def _read_table() -> DirectionTable:
    return DirectionTable.of(active_directions())


def forget_direction_table(**kwargs: object) -> None:
    """Receiver of `rates_changed`."""
    cache.delete(CACHE_KEY)
    _memo.clear()
    _urls.clear()


def currency_code(value: str | None) -> str:
    """A monitoring code as it arrived in a URL, normalised; "" when it cannot be one."""
    code = normalize_currency_code(value)
    return code if _CURRENCY_CODE.fullmatch(code) else ""


def landing_url(cur_from: str, cur_to: str) -> str:
    """The exchange page of `cur_from → cur_to` when that direction is active; with only one
    side known, the exchange page with that side preselected (the give side first); else home.
    """
    key = (currency_code(cur_from), currency_code(cur_to))
    url: str | None = _urls.get(key)
    if url is None:
        try:
            query = direction_table().preselect(*key) if any(key) else {}
        except DatabaseError:
            # Nothing to check the pair against: the exchange page checks it itself. Not
            # remembered, so the checked answer returns with the database.
            return _exchange_url({name: code for name, code in zip(("cur_from", "cur_to"), key,
                                                                   strict=True) if code})
        url = _exchange_url(query)
        _urls.set(key, url)
    return url


def _exchange_url(query: dict[str, str]) -> str:
    if not query:
        return reverse("exchange:home")
    return f"{reverse('exchange:form')}?{urlencode(query)}"
