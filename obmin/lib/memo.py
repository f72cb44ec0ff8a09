"""A tiny per-process memo in front of the shared cache, for the /ref/ hot path.

Reading the shared cache costs a file read (or a Redis round trip) per key; the partner, the
program settings and the direction table are read on every click but change rarely. Each
worker process keeps them for a few seconds: a save clears this process's memo at once and the
other processes' within `ttl` seconds. Django's `setting_changed` (tests swapping the cache)
clears every memo too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.core.cache import cache
from django.core.signals import setting_changed

T = TypeVar("T")

_ALL: list[Memo] = []
_MISSING = object()


class Memo:
    def __init__(self, ttl: float, max_entries: int = 1024) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        _ALL.append(self)

    def get(self, key: Any, default: Any = None) -> Any:
        entry = self._data.get(key)
        if entry is None or entry[0] < time.monotonic():
            return default
        return entry[1]

    def set(self, key: Any, value: Any) -> None:
        with self._lock:
            if len(self._data) >= self.max_entries:
                self._data.clear()  # crude but bounded: codes come from the outside world
            self._data[key] = (time.monotonic() + self.ttl, value)

    def through_cache(self, key: str, build: Callable[[], T], *, cache_seconds: int,
                      kind: type[T]) -> T:
        """This memo, then the shared cache, then `build()`: each layer filled on the way back.

        `kind` guards against another version's value left in the shared cache.
        """
        value: Any = self.get(key)
        if value is not None:
            return cast(T, value)
        value = cache.get(key)
        if not isinstance(value, kind):
            value = build()
            cache.set(key, value, cache_seconds)
        self.set(key, value)
        return value

    def forget(self, *keys: Any) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def clear_all(**kwargs: object) -> None:
    for memo in _ALL:
        memo.clear()


setting_changed.connect(clear_all, dispatch_uid="lib_memo_clear_all")
