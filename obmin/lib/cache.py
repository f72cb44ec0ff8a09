"""A Redis cache backend that a Redis outage cannot turn into errors for customers.

The cache only ever saves work: every cached thing (a partner's code, the rate export, the
rate-limit counters) can be rebuilt from the database or done without. So while Redis is down
each operation behaves as a miss, a warning is logged now and then, and `/health/ready` (whose
set-then-get round trip fails) tells the operator.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# OSError covers the built-in ConnectionError and TimeoutError and bare socket errors.
REDIS_DOWN_ERRORS = (RedisError, OSError)
WARN_EVERY_SECONDS = 30.0
# A dead or unreachable Redis must cost a request a moment, not the default of no timeout.
SOCKET_TIMEOUT_SECONDS = 0.5

# After Redis failed, this process leaves that server alone for this long: in a stall every
# request would otherwise wait out the socket timeout once per call. The click stream
# (partners.ingest) keeps the same pause.
PAUSE_AFTER_FAILURE_SECONDS = 1.0
_paused_until: dict[str, float] = {}

_warned_at: float | None = None
_warn_lock = threading.Lock()

T = TypeVar("T")


def _warn(operation: str, error: Exception) -> None:
    """Logs at most one warning per `WARN_EVERY_SECONDS` in this process."""
    global _warned_at
    now = time.monotonic()
    with _warn_lock:
        if _warned_at is not None and now - _warned_at < WARN_EVERY_SECONDS:
            return
        _warned_at = now
    # redis-py's messages name the host and port, never the password of the URL.
    logger.warning("Redis cache unavailable (%s on %s: %s); serving without it. "
                   "Further failures are not logged for %d s.", type(error).__name__,
                   operation, error, WARN_EVERY_SECONDS)


def redis_paused(url: str) -> bool:
    """Whether `url` failed in this process less than PAUSE_AFTER_FAILURE_SECONDS ago."""
    return time.monotonic() < _paused_until.get(url, 0.0)


def redis_failed(url: str) -> None:
    _paused_until[url] = time.monotonic() + PAUSE_AFTER_FAILURE_SECONDS


def redis_pauses_clear() -> None:
    """Forgets every failure (tests start each from none)."""
    _paused_until.clear()


class ResilientRedisCache(RedisCache):
    """Django's Redis cache, for which an unreachable Redis is a miss rather than an error.

    get -> default, get_many -> {}, has_key -> False; set, delete, touch, clear do nothing
    (delete and touch answer False, set_many every key); incr and decr raise ValueError as for a
    missing key; add answers True, so django-ratelimit's counters let requests through
    while Redis is down rather than refusing everyone.
    OPTIONS default to short socket timeouts (`SOCKET_TIMEOUT_SECONDS`). After a failure the
    server is left alone for PAUSE_AFTER_FAILURE_SECONDS (each call answers as above at once),
    except deletions, which always try: a change must not leave a stale entry behind.
    """

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._location = server if isinstance(server, str) else ",".join(server)
        self._options: dict[str, Any] = {"socket_connect_timeout": SOCKET_TIMEOUT_SECONDS,
                                         "socket_timeout": SOCKET_TIMEOUT_SECONDS,
                                         **self._options}

    def _guarded(self, fallback: T, method: Callable[..., T], *args: Any,
                 always_try: bool = False) -> T:
        if not always_try and redis_paused(self._location):
            return fallback
        try:
            return method(*args)
        except REDIS_DOWN_ERRORS as error:
            redis_failed(self._location)
            _warn(method.__name__, error)
            return fallback

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT,
            version: int | None = None) -> bool:
        return self._guarded(True, super().add, key, value, timeout, version)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._guarded(default, super().get, key, default, version)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT,
            version: int | None = None) -> None:
        self._guarded(None, super().set, key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT,
              version: int | None = None) -> bool:
        return self._guarded(False, super().touch, key, timeout, version)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._guarded(False, super().delete, key, version, always_try=True)

    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        return self._guarded({}, super().get_many, keys, version)

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._guarded(False, super().has_key, key, version)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # What a missing key raises: callers (django-ratelimit) start a new counter.
        missing = ValueError(f"Key {key!r} not found: the cache is unavailable.")
        if redis_paused(self._location):
            raise missing
        try:
            return super().incr(key, delta, version)
        except REDIS_DOWN_ERRORS as error:
            redis_failed(self._location)
            _warn("incr", error)
            raise missing from None

    def set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT,
                 version: int | None = None) -> list[Any]:
        # The API answers the keys that were not stored: all of them.
        return self._guarded(list(data), super().set_many, data, timeout, version)

    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        self._guarded(None, super().delete_many, keys, version, always_try=True)

    def clear(self) -> None:
        self._guarded(None, super().clear, always_try=True)
