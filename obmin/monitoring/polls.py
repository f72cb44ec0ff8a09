"""Counting monitors' polls without a database write, or even a cache write, per request.

Each process counts in memory and pushes its counts to the shared cache every few seconds
(`cache.incr` per partner per UTC hour, atomic on Redis); `services.monitor_polls_flush`
copies the cache's counters into the database about once a minute. A file-cache write costs
more than the whole cached answer, which is why requests only touch a dict.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.dispatch import receiver

# The poller id the default export paths (`/request-exportxml.xml`) are counted under; no
# partner has it (ids start at 1), and the flush writes it to DefaultExportPollHour.
DEFAULT_EXPORT = 0
# Counters live in the cache this long: the database flush runs far more often.
COUNTER_TTL = 2 * 86400
FLUSH_LOCK_KEY = "monitoring:polls:flush-lock"

_counts: dict[tuple[int, int], int] = {}
_seen: dict[int, tuple[float, float]] = {}
# Requests may run in several threads of a process (`obmin serve --blocking-threads`, the
# development server): an increment must not be lost, nor land in a dict already pushed (it
# would be counted twice).
_lock = threading.Lock()
_last_push = time.time()
_last_flush = time.time()


def counter_key(partner_id: int, hour: int) -> str:
    return f"monitoring:polls:{partner_id}:{hour}"


def seen_key(partner_id: int) -> str:
    return f"monitoring:seen:{partner_id}"


def hour_of(moment: float) -> int:
    return int(moment // 3600 * 3600)


def _intervals() -> tuple[float, float]:
    return (float(settings.MONITORING_POLL_PUSH_SECONDS),
            float(settings.MONITORING_POLL_FLUSH_SECONDS))


# Read once, not per request (a module global is cheaper than the settings object);
# `setting_changed` keeps tests that change them honest.
_push_every, _flush_every = _intervals()


@receiver(setting_changed)
def _reread_intervals(*, setting: str, **kwargs: object) -> None:
    global _push_every, _flush_every
    if setting.startswith("MONITORING_POLL_"):
        _push_every, _flush_every = _intervals()


def poll_record(partner_id: int, now: float) -> bool:
    """Counts one poll; pushes to the cache when due. True when a database flush is due here."""
    global _last_flush
    key = (partner_id, hour_of(now))
    with _lock:
        _counts[key] = _counts.get(key, 0) + 1
        first, _last = _seen.get(partner_id, (now, now))
        _seen[partner_id] = (first, now)
    if now - _last_push >= _push_every:
        polls_push(now)
    if now - _last_flush >= _flush_every:
        _last_flush = now
        # One process in the whole site flushes per interval.
        return bool(cache.add(FLUSH_LOCK_KEY, 1, max(int(_flush_every) - 1, 1)))
    return False


def polls_push(now: float | None = None) -> None:
    """Adds this process's counts to the shared cache counters and forgets them."""
    global _counts, _seen, _last_push
    with _lock:
        _last_push = time.time() if now is None else now
        counts, seen = _counts, _seen
        _counts, _seen = {}, {}
    for (partner_id, hour), n in counts.items():
        key = counter_key(partner_id, hour)
        try:
            cache.incr(key, n)
        except ValueError:
            if not cache.add(key, n, COUNTER_TTL):
                cache.incr(key, n)
    if seen:
        keys = {seen_key(pk): pk for pk in seen}
        stored = cache.get_many(list(keys))
        merged = {}
        for key, pk in keys.items():
            first, last = seen[pk]
            if key in stored:
                first, last = min(first, stored[key][0]), max(last, stored[key][1])
            merged[key] = (first, last)
        cache.set_many(merged, COUNTER_TTL)


def buffered() -> dict[tuple[int, int], int]:
    """This process's counts not yet pushed (for tests and diagnostics)."""
    return dict(_counts)


def reset() -> None:
    """Forgets unpushed counts and restarts both timers (tests start from a clean state)."""
    global _counts, _seen, _last_push, _last_flush
    with _lock:
        _counts, _seen = {}, {}
        _last_push = _last_flush = time.time()


def _push_at_exit() -> None:
    # Best effort: a process that stops keeps its last few seconds of counts otherwise.
    with contextlib.suppress(Exception):
        if _counts:
            polls_push()


atexit.register(_push_at_exit)
