"""Counters for `/metrics`, cheap enough for the hot paths.

A request adds to a dict in its own process (`count`); every few seconds the process adds its
counts to the shared cache (`cache.incr`, atomic on Redis), so `/metrics` on any process of any
host sees them all. A counter is identified by its name and labels; the cache also keeps the
list of counters it holds (`INDEX_KEY`). Counters start again from zero if the cache is
emptied; Prometheus reads that as a counter reset, as it does after a restart.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import threading
import time

from django.core.cache import cache
from django.core.signals import setting_changed

PUSH_EVERY_SECONDS = 5.0
INDEX_KEY = "metrics:index"
_PREFIX = "metrics:counter:"

# (name, ((label, value), ...)) -> count not yet pushed
Counter = tuple[str, tuple[tuple[str, str], ...]]
_counts: dict[Counter, int] = {}
_lock = threading.Lock()
_last_push = time.monotonic()


def count(name: str, amount: int = 1, **labels: str) -> None:
    """Adds `amount` to the counter `name{labels}` (pushed to the cache when due)."""
    key = (name, tuple(sorted(labels.items())))
    # Requests may run in several threads of a process (`obmin serve --blocking-threads`,
    # the development server): no increment may be lost.
    with _lock:
        _counts[key] = _counts.get(key, 0) + amount
    if time.monotonic() - _last_push >= PUSH_EVERY_SECONDS:
        push()


def _cache_key(counter: Counter) -> str:
    return _PREFIX + json.dumps([counter[0], counter[1]], separators=(",", ":"))


def push() -> None:
    """Adds this process's counts to the shared cache and forgets them."""
    global _counts, _last_push
    with _lock:
        _last_push = time.monotonic()
        counts, _counts = _counts, {}
    if not counts:
        return
    keys = {counter: _cache_key(counter) for counter in counts}
    for counter, amount in counts.items():
        try:
            cache.incr(keys[counter], amount)
        except ValueError:  # not in the cache yet (or the cache is down: then it is lost)
            if not cache.add(keys[counter], amount, None):
                with contextlib.suppress(ValueError):
                    cache.incr(keys[counter], amount)
    index = set(cache.get(INDEX_KEY) or ())
    if not set(keys.values()) <= index:
        cache.set(INDEX_KEY, sorted(index | set(keys.values())), None)


def totals() -> dict[Counter, int]:
    """Every counter's value in the shared cache (after pushing this process's counts)."""
    push()
    index = list(cache.get(INDEX_KEY) or ())
    values = cache.get_many(index)
    result: dict[Counter, int] = {}
    for key, value in values.items():
        name, labels = json.loads(key[len(_PREFIX):])
        result[(name, tuple((str(k), str(v)) for k, v in labels))] = int(value)
    return result


def _forget_on_cache_change(*, setting: str, **kwargs: object) -> None:
    # Counts not yet pushed belong to the cache they were counted beside (tests swap caches).
    if setting == "CACHES":
        _counts.clear()


setting_changed.connect(_forget_on_cache_change, dispatch_uid="lib_metrics_forget")


@atexit.register
def _push_at_exit() -> None:
    # The last few seconds of a process's counts; a cache already gone loses them.
    with contextlib.suppress(Exception):
        push()
