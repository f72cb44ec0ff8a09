"""The built export: every format's bytes, gzipped once, shared by all processes via the cache.

Monitors poll every few seconds, so an answer must cost no database query while nothing
changed. A build happens once per change of rates, reserves, directions, partners or the
exporter's settings (`export_invalidate`, wired to signals in apps.py), or when the list would
change by time alone (a rate going stale, working hours opening or closing: `expires_at`).

The cache holds a small version token and one snapshot; each process keeps the snapshot it last
used and reads the token at most every MONITORING_EXPORT_RECHECK_SECONDS (0.1 s), so the hot
path is a dictionary lookup and the prepared bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import connection, transaction
from django.dispatch import receiver
from django.utils.http import http_date

from obmin.monitoring.formats import CONTENT_TYPES, FORMATS, MAINTENANCE, RENDERERS
from obmin.monitoring.selectors import export_codes, export_entries, export_settings

VERSION_KEY = "monitoring:export:version"
SNAPSHOT_KEY = "monitoring:export:snapshot"
# (content hash, unix time it first appeared): Last-Modified survives a rebuild to equal bytes.
SINCE_KEY = "monitoring:export:since"
# Below this size gzip saves nothing worth a header.
GZIP_MIN_BYTES = 256


@dataclass(frozen=True)
class Body:
    content: bytes
    gzipped: bytes | None
    etag: str
    etag_gzip: str
    content_type: str


@dataclass(frozen=True)
class Snapshot:
    version: str
    modified_at: int
    last_modified: str
    expires_at: float | None
    # lower-cased export code -> (partner id, may see rates)
    codes: dict[str, tuple[int, bool]]
    rates: dict[str, Body]
    maintenance: dict[str, Body]
    entry_count: int
    # Whether the default export paths (`/request-exportxml.xml`) answer the rates. A default,
    # so a snapshot pickled before this field existed still reads.
    default_enabled: bool = True

    def is_fresh(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at


def make_body(content: bytes, fmt: str) -> Body:
    digest = hashlib.blake2b(content, digest_size=10).hexdigest()
    gzipped = gzip.compress(content, mtime=0) if len(content) >= GZIP_MIN_BYTES else None
    return Body(content, gzipped, f'"{digest}"', f'"{digest}-gz"', CONTENT_TYPES[fmt])


_maintenance_bodies = {fmt: make_body(MAINTENANCE[fmt], fmt) for fmt in FORMATS}
# The snapshot this process served last; replaced when the cached version token moves.
_memo: Snapshot | None = None
# When this process last read the shared token (wall clock, like `now`).
_checked_at = 0.0


def _recheck_interval() -> float:
    return float(settings.MONITORING_EXPORT_RECHECK_SECONDS)


# Reading the shared token costs about as much as the rest of the answer (a file read and
# unpickling, or a Redis round trip), so a busy process reads it at most this often; a change
# made in this process is seen at once, one made elsewhere within this interval.
_recheck_every = _recheck_interval()


@receiver(setting_changed)
def _reread_interval(*, setting: str, **kwargs: object) -> None:
    global _recheck_every
    if setting == "MONITORING_EXPORT_RECHECK_SECONDS":
        _recheck_every = _recheck_interval()


def _new_version() -> str:
    return secrets.token_hex(8)


def build_snapshot(version: str, now: float) -> Snapshot:
    """Reads the database once and renders every format."""
    moment = datetime.fromtimestamp(now, tz=UTC)
    exporter = export_settings()
    codes = export_codes()
    oldest_input: int | None = None
    if exporter.maintenance:
        rates, expires_at, count = dict(_maintenance_bodies), None, 0
    else:
        listing = export_entries(now=moment, settings=exporter)
        rates = {fmt: make_body(RENDERERS[fmt](listing.entries), fmt) for fmt in FORMATS}
        expires_at = listing.expires_at.timestamp() if listing.expires_at else None
        count = len(listing.entries)
        if listing.oldest_input is not None:
            oldest_input = int(listing.oldest_input.timestamp())
    content_hash = "".join(rates[fmt].etag for fmt in FORMATS)
    since = cache.get(SINCE_KEY)
    if since and since[0] == content_hash:
        modified_at = since[1]
    else:
        # Strictly later than the previous content's, even within one second, so that an
        # If-Modified-Since of the old content never earns a 304 for the new one.
        modified_at = max(int(now), since[1] + 1) if since else int(now)
        cache.set(SINCE_KEY, (content_hash, modified_at), None)
    # Last-Modified says how old the rates are: with market rates, their oldest quote. A 304
    # to If-Modified-Since still needs a date at or after the content appeared (modified_at).
    last_modified = modified_at if oldest_input is None else min(modified_at, oldest_input)
    return Snapshot(version=version, modified_at=modified_at,
                    last_modified=http_date(last_modified), expires_at=expires_at, codes=codes,
                    rates=rates, maintenance=_maintenance_bodies, entry_count=count,
                    default_enabled=exporter.default_export_enabled)


def current_snapshot(now: float | None = None) -> Snapshot:
    """The snapshot to serve: this process's copy while the cached token still names it."""
    global _memo, _checked_at
    now = time.time() if now is None else now
    memo = _memo
    if (memo is not None and memo.is_fresh(now)
            and 0 <= now - _checked_at < _recheck_every):
        return memo
    version = cache.get(VERSION_KEY)
    _checked_at = now
    if version is not None:
        if memo is not None and memo.version == version and memo.is_fresh(now):
            return memo
        stored = cache.get(SNAPSHOT_KEY)
        if stored is not None and stored.version == version:
            if stored.is_fresh(now):
                _memo = stored
                return stored
            # Expired by time: a new token tells the other processes to take the rebuilt
            # snapshot instead of rebuilding too.
            version = None
    if version is None:
        version = _new_version()
        cache.set(VERSION_KEY, version, None)
    snapshot = build_snapshot(version, now)
    cache.set(SNAPSHOT_KEY, snapshot, None)
    _memo = snapshot
    return snapshot


def export_invalidate() -> None:
    """Makes the next poll in every process rebuild the export."""
    global _memo
    _memo = None
    cache.set(VERSION_KEY, _new_version(), None)


def on_data_changed(**kwargs: object) -> None:
    """Receiver for every change the export depends on.

    Invalidates at once (this process's next answer is right) and again on commit, since a
    build in another process may read the old rows before the change is committed.
    """
    export_invalidate()
    if connection.in_atomic_block:
        transaction.on_commit(export_invalidate, robust=True)
