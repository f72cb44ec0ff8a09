"""Heavy reads from a PostgreSQL streaming replica (`DATABASE_REPLICA_URL`), everything else
from the primary.

Reads go to the replica only where a view asks for it (`reads_from_replica`: the partner API's
lists, the cabinet's statistics, tables and CSVs), never by default: whatever must see its own
write (a payout just asked for, a session, a balance) reads the primary. The replica is used
only while it answers and is at most `DATABASE_REPLICA_MAX_LAG` seconds behind, checked at most
every `CHECK_SECONDS` per process; a replica that is down is left alone for `DOWN_SECONDS`.
`ReplicaRouter` (settings.DATABASE_ROUTERS, set with the replica) does the routing.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, NamedTuple

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.models import Model
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase

logger = logging.getLogger(__name__)

REPLICA = "replica"
CHECK_SECONDS = 1.0
DOWN_SECONDS = 5.0

# How far behind the replica is, in seconds: 0 while it has replayed all it received and is
# streaming; otherwise the age of the last transaction it replayed (an idle primary with a
# disconnected replica counts as behind: it cannot be told from a stale one).
LAG_SQL = """
SELECT CASE
  WHEN NOT pg_is_in_recovery() THEN 0
  WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
       AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0
  ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9)
END
"""


class ReplicaState(NamedTuple):
    lag: float | None  # seconds behind; None: it did not answer
    usable: bool
    checked_at: float  # time.monotonic()


_reads_on_replica = contextvars.ContextVar("obmin_reads_on_replica", default=False)
_lock = threading.Lock()
_state: ReplicaState | None = None


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def replica_state(*, fresh: bool = False) -> ReplicaState | None:
    """The replica's lag and whether reads may go to it (None without a replica)."""
    global _state
    if not replica_configured():
        return None
    now = time.monotonic()
    state = _state
    if state is not None and not fresh:
        wait = CHECK_SECONDS if state.lag is not None else DOWN_SECONDS
        if now - state.checked_at < wait:
            return state
    with _lock:
        if _state is not state and _state is not None and not fresh:
            return _state  # another thread checked meanwhile
        lag = _lag()
        usable = lag is not None and lag <= settings.DATABASE_REPLICA_MAX_LAG
        if (state is None or state.usable) and not usable:
            logger.warning("replica %s; heavy reads go to the primary",
                           "unavailable" if lag is None else f"{lag:.1f} s behind")
        _state = ReplicaState(lag, usable, time.monotonic())
        return _state


def _lag() -> float | None:
    connection = connections[REPLICA]
    try:
        with connection.cursor() as cursor:
            cursor.execute(LAG_SQL)
            row = cursor.fetchone()
        return float(row[0]) if row and row[0] is not None else None
    except DatabaseError:
        connection.close()
        return None


def _answers() -> bool:
    """One round trip on the replica's kept connection: a streamed answer runs its queries
    after the view returned, too late to turn to the primary, so a replica that died since
    the last check is found out here."""
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        replica_failed()
        return False


def replica_failed() -> None:
    """A read on the replica failed: primary only for the next DOWN_SECONDS."""
    global _state
    _state = ReplicaState(None, False, time.monotonic())
    connections[REPLICA].close()


@contextmanager
def replica_reads() -> Iterator[None]:
    """Inside it, reads of models go to the replica while it is usable."""
    token = _reads_on_replica.set(True)
    try:
        yield
    finally:
        _reads_on_replica.reset(token)


def _streamed_on_replica(content: Iterable[Any]) -> Iterator[Any]:
    # A streamed answer runs its queries as the server sends it, after the view returned.
    with replica_reads():
        yield from content


def answered_from_replica(answer: Callable[[], HttpResponseBase]) -> HttpResponseBase:
    """`answer()` (a read-only answer) with its reads from the replica while it is usable, a
    streamed answer's included. When the replica fails during `answer()`, it runs again on the
    primary; a stream the replica fails in the middle of is cut short."""
    state = replica_state()
    if state is None or not state.usable or not _answers():
        return answer()
    try:
        with replica_reads():
            response = answer()
    except DatabaseError:
        logger.warning("a read on the replica failed; answered from the primary")
        replica_failed()
        return answer()
    if isinstance(response, StreamingHttpResponse) and not response.is_async:
        content = response.streaming_content
        assert isinstance(content, Iterator)
        response.streaming_content = _streamed_on_replica(content)
    return response


def reads_from_replica(view: Callable[..., HttpResponseBase]
                       ) -> Callable[..., HttpResponseBase]:
    """A read-only view (placed under its authentication, which reads the primary) answered
    from the replica while it is usable (`answered_from_replica`)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return answered_from_replica(lambda: view(request, *args, **kwargs))

    return wrapper


class ReplicaRouter:
    """Reads inside `replica_reads` go to the replica while it is usable; all else (every
    write, migrations) to the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        if not _reads_on_replica.get():
            return None
        state = replica_state()
        return REPLICA if state is not None and state.usable else None

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True  # the same database, one of them read from its copy

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == "default"
