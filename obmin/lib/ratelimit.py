"""Attempts counted against a rate in the shared cache (django-ratelimit's counters), for every
limit that is not a whole view's: new exchanges per visitor, bids per API key, requests per key,
postback saves. A cache outage lets the attempt through."""

from __future__ import annotations

from django_ratelimit.core import get_usage


def seconds_to_wait(group: str, value: str, rate: str, *, increment: bool = True) -> int | None:
    """Counts one attempt of `value` in `group` (unless `increment` is off); beyond `rate`
    (`"10/h"`), the seconds until the window ends, else None."""
    usage = get_usage(None, group=group, key=lambda _group, _request: value, rate=rate,
                      increment=increment)
    if usage is not None and usage["should_limit"]:
        return max(int(usage["time_left"]), 1)
    return None


def in_minutes(seconds: int) -> int:
    """A wait told to a person: whole minutes, at least one."""
    return max(seconds // 60, 1)
