"""How a click reaches the database without ever failing the visitor's redirect.

`click_submit` is the one way a click enters, from the /ref/ view:
- with `REDIS_URL`, one XADD to the Redis stream `CLICK_STREAM`; the worker's `clicks_ingest`
  reads it through a consumer group, writes batches and acknowledges only after the commit, so
  a crash of either side re-delivers and nothing is lost;
- without Redis (the SQLite demo), or when Redis refuses, a direct INSERT;
- when that fails too (database down, locked, restarting), one line appended to the spool file
  under `OBMIN_DATA_DIR/spool/`, which the worker replays.
Every click carries a random `uid`: the database keeps (uid, created_at) unique and the writer
skips what is there already, so a click delivered twice is stored once.

A queued click reaches `get_links` and statistics within a few seconds: the worker writes every
second (`obmin worker`), so the bound is that second plus the batch's write time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import random
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from time import time_ns
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q

from obmin.lib import metrics
from obmin.lib.cache import (
    PAUSE_AFTER_FAILURE_SECONDS,
    SOCKET_TIMEOUT_SECONDS,
    redis_failed,
    redis_paused,
)
from obmin.lib.models import SOURCE_FIELDS
from obmin.lib.timeutil import day_start
from obmin.partners.hooks import clicks_stored
from obmin.partners.models import Click, OldReferralCode, Partner

logger = logging.getLogger(__name__)

CLICK_STREAM = "obmin:clicks"
CLICK_GROUP = "obmin-click-writers"
# Messages a worker read but never acknowledged are taken over by another after this long. A
# live worker reads its own unacknowledged messages again every round (a second), which makes
# them fresh, so only a dead (or stopped) worker's are taken; one taken early by mistake is
# written once anyway (the uid).
REDELIVER_AFTER_MS = 10_000
# A reader (one per worker process) with nothing pending and idle this long is forgotten:
# every restart of a worker makes a new one.
FORGET_READER_AFTER_MS = 3_600_000
BATCH = 2000
SPOOL_NAME = "clicks.jsonl"


@dataclass(frozen=True)
class ClickData:
    """One click as the redirect saw it, cleaned and cut to the columns' lengths.

    `partner_id` is None when the database could not be asked whose `code` it is; the writer
    resolves it then (an unknown or blocked code is dropped, as the redirect would have).
    `seen_today`: whether the visitor already clicked this partner's link this UTC day, when
    its cookies tell; None leaves it to the writer. The traffic source (sub1..sub5, utm_*,
    cleaned by partners.sources) and the country come last, with defaults, so that a message
    queued by an older version (without them) still reads.
    """

    uid: str
    created_at: datetime
    code: str
    partner_id: int | None
    user_hash: str
    is_bot: bool
    browser: str
    ip: str
    referrer: str
    query_string: str
    user_agent: str
    seen_today: bool | None
    sub1: str = ""
    sub2: str = ""
    sub3: str = ""
    sub4: str = ""
    sub5: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    country: str = ""

    def to_json(self) -> str:
        # Field by field: dataclasses.asdict deep-copies every value, a tenth of a click's cost.
        values = {name: getattr(self, name) for name in _FIELD_NAMES}
        values["created_at"] = self.created_at.isoformat()
        return json.dumps(values, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> ClickData:
        data: dict[str, Any] = json.loads(text)
        data["created_at"] = datetime.fromisoformat(data["created_at"])
        # Only the fields this version knows: a message from a newer one still reads.
        return cls(**{name: data[name] for name in _FIELD_NAMES if name in data})


_FIELD_NAMES = tuple(field.name for field in dataclasses.fields(ClickData))


def new_click_uid() -> str:
    """32 hex digits laid out as a UUIDv7: unix milliseconds first, then 74 random bits.

    Time first, so the unique index on (uid, created_at) grows at its end: with random uuid4
    ids every click's index entry landed on a random page, which cost the redirect about a
    third of its speed on SQLite.
    """
    # Unique, not secret: Python's generator (reseeded in each forked worker) is enough.
    return _uuid7_hex(time_ns() // 1_000_000, random.getrandbits(74))


def _uuid7_hex(millis: int, random_bits: int) -> str:
    value = ((millis & (2**48 - 1)) << 80 | 0x7 << 76 | (random_bits >> 62 & 0xFFF) << 64
             | 0b10 << 62 | random_bits & (2**62 - 1))
    return f"{value:032x}"


# How far a proxy's X-Request-Start may be from this host's clock to be taken as the click's
# time (a proxy host with a wrong clock must not move clicks to another hour or day).
PROXY_CLOCK_SKEW_SECONDS = 60


def click_identity(meta: Mapping[str, str], now: datetime) -> tuple[str, datetime]:
    """The click's uid and time. Behind the shipped nginx (`BEHIND_PROXY`), both come from
    the request's X-Request-ID and X-Request-Start, which nginx sends unchanged when it tries
    the request again on another app server (deploy/nginx/obmin.conf): a click queued by a
    server that died before answering, then by the next one, is then one row. Otherwise (or
    when the headers are missing, malformed or far from this clock) a new uid and `now`."""
    if settings.BEHIND_PROXY:
        request_id = meta.get("HTTP_X_REQUEST_ID", "")
        start = meta.get("HTTP_X_REQUEST_START", "")
        if len(request_id) == 32 and start.startswith("t="):
            try:
                random_bits = int(request_id, 16) & (2**74 - 1)
                millis = round(float(start[2:]) * 1000)
            except (ValueError, OverflowError):
                pass
            else:
                moment = datetime.fromtimestamp(millis / 1000, tz=UTC)
                if abs((moment - now).total_seconds()) <= PROXY_CLOCK_SKEW_SECONDS:
                    return _uuid7_hex(millis, random_bits), moment
    return new_click_uid(), now


# --- the request side ---------------------------------------------------------------------


_redis_lock = threading.Lock()
_redis: dict[str, redis.Redis] = {}


def _stream_client() -> redis.Redis | None:
    """A Redis client for the stream (short timeouts, like the cache's), or None without Redis."""
    url = settings.REDIS_URL
    if not url:
        return None
    client = _redis.get(url)
    if client is None:
        with _redis_lock:
            client = _redis.setdefault(url, redis.Redis.from_url(
                url, socket_timeout=SOCKET_TIMEOUT_SECONDS,
                socket_connect_timeout=SOCKET_TIMEOUT_SECONDS))
    return client


# The redirect's XADD goes over a connection of the serving thread's own, not through the
# client's pool: taking and returning a pooled connection, and packing the command argument by
# argument, cost more than the round trip itself (about 90 against 45 us a click in process).
_request_side = threading.local()


def _stream_connection(url: str) -> redis.connection.ConnectionInterface:
    held: tuple[str, redis.connection.ConnectionInterface] | None = getattr(
        _request_side, "connection", None)
    if held is not None and held[0] == url:
        return held[1]
    if held is not None:
        held[1].disconnect()
    pool = redis.ConnectionPool.from_url(url, socket_timeout=SOCKET_TIMEOUT_SECONDS,
                                         socket_connect_timeout=SOCKET_TIMEOUT_SECONDS)
    redis_connection = pool.make_connection()
    _request_side.connection = (url, redis_connection)
    return redis_connection


_XADD_HEAD = (f"*5\r\n$4\r\nXADD\r\n${len(CLICK_STREAM)}\r\n{CLICK_STREAM}\r\n"
              f"$1\r\n*\r\n$5\r\nclick\r\n").encode()


def _xadd(url: str, payload: str) -> None:
    """XADD CLICK_STREAM * click <payload>, written as Redis's protocol has it; raises a
    RedisError or OSError when the entry cannot be known to be in the stream."""
    redis_connection = _stream_connection(url)
    data = payload.encode()
    command = [_XADD_HEAD + b"$%d\r\n%b\r\n" % (len(data), data)]
    # A connection that served earlier clicks may have been closed meanwhile (Redis restarted,
    # a proxy's idle timeout): found out on use, it is opened again once. An XADD sent twice
    # that way is written once (the uid); a timeout is not retried (a stall would double it).
    reused = redis_connection.is_connected
    try:
        _send(redis_connection, command)
    except redis.ConnectionError:
        if not reused:
            raise
        _send(redis_connection, command)  # on a connection opened anew


def _send(redis_connection: redis.connection.ConnectionInterface, command: list[bytes]) -> None:
    try:
        redis_connection.send_packed_command(command, check_health=False)
        redis_connection.read_response()
    except BaseException:
        # Whatever was half sent or left unread must not be taken for the next click's answer.
        redis_connection.disconnect()
        raise


def click_submit(click: ClickData) -> str:
    """Stores or queues one click; never raises. Returns where it went: "stream", "database"
    or "spool" (counted for /metrics as `obmin_clicks{to=...}`)."""
    went = _submit(click)
    metrics.count("obmin_clicks", to=went)
    return went


def _submit(click: ClickData) -> str:
    url = settings.REDIS_URL
    if url and not redis_paused(url):
        try:
            _xadd(url, click.to_json())
            return "stream"
        except (redis.RedisError, OSError) as error:
            # In a Redis stall every click would wait out the socket timeout before its
            # INSERT, and visitors queue behind them: this process writes directly for a while.
            redis_failed(url)
            logger.warning("click stream unavailable (%s); writing clicks directly for %s s",
                           error, PAUSE_AFTER_FAILURE_SECONDS)
    if click.partner_id is not None:
        try:
            _insert_one(click)
            return "database"
        except DatabaseError as error:
            logger.warning("click INSERT failed (%s); spooling it", error)
    _spool_append(click)
    return "spool"


@cache
def _insert_sql(vendor: str, own_transaction: bool) -> str:
    marks = ", ".join(["%s"] * len(INSERT_COLUMNS))
    # Names come from the model, values go as parameters.
    sql = f"INSERT INTO {_table_columns()} VALUES ({marks})"  # noqa: S608
    if vendor == "postgresql" and own_transaction:
        # Without waiting for the WAL flush. SET LOCAL applies to the click's own
        # transaction only (the INSERT and its postback, `_insert_one`; several statements
        # with parameters in one string need psycopg's client-side binding, Django's default).
        # The same promise as SQLite's WAL with synchronous=NORMAL: a click answered is
        # committed and survives any crash of the app; only a crash of the database server
        # itself may lose the last fraction of a second of clicks. Waiting for the flush made
        # a click cost ten times a page view.
        sql = "SET LOCAL synchronous_commit TO OFF; " + sql
    return sql


INSERT_COLUMNS = ("uid", "partner", "created_at", "browser", "ip", "referrer", "user_hash",
                  "query_string", "user_agent", "is_bot", "is_unique", *SOURCE_FIELDS, "country")


def _insert_one(click: ClickData) -> None:
    """One plain INSERT rather than `Click.objects.create`: this runs on every click of paid
    traffic, and the ORM's per-object work (signals, field preparation, RETURNING the id
    nobody reads) cost several times the INSERT itself. The columns come from the model.
    """
    assert click.partner_id is not None
    seen_today = click.seen_today
    if seen_today is None and click.user_hash and not click.is_bot:
        seen_today = _seen_today(click.partner_id, click.user_hash, click.created_at)
    own_transaction = (not connection.in_atomic_block and not connection.settings_dict[
        "OPTIONS"].get("server_side_binding", False))
    # The click and what its receivers queue (its postback) commit together: a process killed
    # between the two would otherwise leave a stored click whose postback never goes out.
    # No savepoint inside a caller's transaction: the hot path stays one query.
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute(_insert_sql(connection.vendor, own_transaction),
                           _row_values(click, _is_unique(click, seen_today)))
        clicks_stored.send(sender=Click, clicks=[click])


def _row_values(click: ClickData, is_unique: bool) -> list[Any]:
    """A click's values in the order of INSERT_COLUMNS."""
    return [_uid_value(click.uid), click.partner_id,
            connection.ops.adapt_datetimefield_value(click.created_at), click.browser,
            click.ip, click.referrer, click.user_hash, click.query_string, click.user_agent,
            click.is_bot, is_unique, click.sub1, click.sub2, click.sub3, click.sub4, click.sub5,
            click.utm_source, click.utm_medium, click.utm_campaign, click.country]


def _uid_value(uid: str) -> uuid.UUID | str:
    # As the UUIDField stores it: a native uuid on PostgreSQL, 32 hex characters elsewhere
    # (which `uid` is already, from new_click_uid).
    return uuid.UUID(uid) if connection.vendor == "postgresql" else uid


def _is_unique(click: ClickData, seen_today: bool | None) -> bool:
    # Crawlers' clicks are never unique; a click without a visitor id always is.
    if click.is_bot:
        return False
    if not click.user_hash:
        return True
    return not seen_today


def _seen_today(partner_id: int, user_hash: str, moment: datetime) -> bool:
    return Click.objects.filter(partner_id=partner_id, user_hash=user_hash, is_bot=False,
                                created_at__gte=day_start(moment.astimezone(UTC).date()),
                                created_at__lt=moment).exists()


# --- the spool ----------------------------------------------------------------------------


def spool_dir() -> Path:
    return Path(settings.DATA_DIR) / "spool"


def _spool_append(click: ClickData) -> None:
    """One line, one write, appended: concurrent writers' lines never interleave."""
    line = (click.to_json() + "\n").encode()
    directory = spool_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / SPOOL_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        # Nowhere left to keep it: the visitor still gets the redirect.
        logger.exception("click %s lost: neither the database nor the spool took it", click.uid)


def _spool_replay() -> int:
    """Writes the spooled clicks, then removes their file. A file is first renamed aside, so
    new clicks go to a fresh spool meanwhile; a replay that crashes leaves the renamed file,
    which the next round writes again (the uid makes that harmless). Several workers sharing
    the data directory take turns: each file is replayed under an exclusive lock, which dies
    with its holder, so a killed worker's file is taken over at once."""
    directory = spool_dir()
    current = directory / SPOOL_NAME
    with contextlib.suppress(FileNotFoundError):  # another worker may have renamed it first
        current.rename(directory / f"clicks.{uuid.uuid4().hex}.replaying")
    written = 0
    for path in sorted(directory.glob("clicks.*.replaying")) if directory.exists() else []:
        with _spool_file_held(path) as held:
            if not held:
                continue  # another worker is replaying it, or has just done so
            clicks = list(_spooled(path))
            for start in range(0, len(clicks), BATCH):
                written += clicks_write(clicks[start:start + BATCH])
            path.unlink()
    return written


@contextlib.contextmanager
def _spool_file_held(path: Path) -> Iterator[bool]:
    """Whether this process now holds the spool file alone (and it still exists)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            # Locked, but perhaps only after its replayer removed it: then it is done.
            yield os.path.exists(path) and os.stat(path).st_ino == os.fstat(fd).st_ino
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _spooled(path: Path) -> Iterator[ClickData]:
    with path.open("rb") as lines:
        for line in lines:
            try:
                yield ClickData.from_json(line)
            except (ValueError, TypeError, KeyError):
                # A line cut short by a crash mid-write; its click was never answered whole.
                logger.warning("skipping a malformed spool line in %s", path.name)


# --- the worker side ----------------------------------------------------------------------


def clicks_write(clicks: Iterable[ClickData]) -> int:
    """Stores a batch of clicks in one transaction, skipping any already stored; returns how
    many rows are new. Clicks are taken in the order given (the order they were answered), so
    the first of a visitor's clicks on a day is the unique one. Written with the redirect's own
    columns (COPY on PostgreSQL, one executemany elsewhere), not the ORM: model instances and
    per-field preparation cost the worker more than the database's work per click."""
    batch = list(clicks)
    if not batch:
        return 0
    with transaction.atomic():
        owners = _owners({c.code.lower() for c in batch if c.partner_id is None})
        existing = _partners_existing({c.partner_id for c in batch if c.partner_id is not None})
        new: list[tuple[ClickData, bool]] = []  # (click with its partner, is_unique)
        taken: set[str] = set()
        first_seen: set[tuple[int, str, object]] = set()
        orphans = 0
        for click in batch:
            if click.uid in taken:
                continue  # a message delivered twice in one batch: written once
            taken.add(click.uid)
            if click.partner_id is not None and click.partner_id not in existing:
                orphans += 1
                continue
            if click.partner_id is None:
                partner_id = owners.get(click.code.lower())
                if partner_id is None:
                    continue  # an unknown or blocked code, found out only now
                click = replace(click, partner_id=partner_id)
            assert click.partner_id is not None
            seen_today = click.seen_today
            key = (click.partner_id, click.user_hash, click.created_at.astimezone(UTC).date())
            if seen_today is None and click.user_hash and not click.is_bot:
                seen_today = key in first_seen or _seen_today(click.partner_id, click.user_hash,
                                                              click.created_at)
            if not click.is_bot and click.user_hash:
                first_seen.add(key)
            new.append((click, _is_unique(click, seen_today)))
        try:
            if new:
                with transaction.atomic():  # a savepoint: a refused batch leaves the rest usable
                    _insert_many([_row_values(click, unique) for click, unique in new])
        except IntegrityError:
            # Some are stored already: delivered again after a worker crashed before its
            # acknowledgement, or written directly when an XADD's answer timed out. Only then
            # is the batch checked against the table; that query would otherwise cost more
            # than the batch's write.
            before = _stored([click for click, _unique in new])
            new = [(click, unique) for click, unique in new
                   if uuid.UUID(click.uid) not in before]
            _insert_many([_row_values(click, unique) for click, unique in new])
        if new:
            clicks_stored.send(sender=Click, clicks=[click for click, _unique in new])
    if orphans:
        logger.warning("dropped %d queued clicks of deleted partners", orphans)
    return len(new)


def _partners_existing(partner_ids: set[int]) -> set[int]:
    """Those of these partners that still exist. A click queued (stream, spool) or answered
    from the code cache carries its partner's id; the partner may have been deleted since.
    Its row would break the foreign key only at COMMIT (PostgreSQL, SQLite), failing the whole
    batch every round and holding up every later click, so such clicks are dropped: they are
    evidence of nothing any more."""
    if not partner_ids:
        return set()
    return set(Partner.objects.filter(pk__in=partner_ids).values_list("pk", flat=True))


def _insert_many(rows: list[list[Any]]) -> None:
    """Rows of INSERT_COLUMNS' values, inside the writer's transaction; a uid stored already
    raises IntegrityError. PostgreSQL takes them by COPY, which costs it a third of row-by-row
    INSERTs' work."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The driver's own cursor: its errors made Django's (IntegrityError) as usual.
            with connection.wrap_database_errors, cursor.cursor.copy(_copy_sql()) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(_insert_sql(connection.vendor, False), rows)


@cache
def _copy_sql() -> str:
    return f"COPY {_table_columns()} FROM STDIN"


def _table_columns() -> str:
    """`table (column, ...)` of INSERT_COLUMNS, quoted, as the INSERT and the COPY name them."""
    quote = connection.ops.quote_name
    fields = {field.name: field for field in Click._meta.concrete_fields}
    columns = ", ".join(quote(fields[name].column) for name in INSERT_COLUMNS)
    return f"{quote(Click._meta.db_table)} ({columns})"


def _owners(codes: set[str]) -> dict[str, int]:
    """Partner ids of these referral codes (lower-cased), blocked partners left out."""
    if not codes:
        return {}
    query = Q()
    old = Q()
    for code in codes:
        query |= Q(ref_code__iexact=code)
        old |= Q(code__iexact=code)
    owners = {code.lower(): pk for code, pk in
              OldReferralCode.objects.filter(old, partner__is_blocked=False)
              .values_list("code", "partner_id")}
    owners.update((code.lower(), pk) for code, pk in
                  Partner.objects.filter(query, is_blocked=False).values_list("ref_code", "pk"))
    return owners


def _stored(clicks: list[ClickData]) -> set[uuid.UUID]:
    """The uids of these clicks that are in the database already (a re-delivered batch)."""
    if not clicks:
        return set()
    earliest = min(click.created_at for click in clicks)
    uids = [uuid.UUID(click.uid) for click in clicks]
    # Click uids are time-ordered (new_click_uid), so a batch's lie close together in the
    # (uid, created_at) index; named as a range too, they make PostgreSQL read that stretch
    # of the index. Given only 2,000 uids, it chose to read the whole month's partition for
    # every batch: 48 against 5 ms at 360,000 clicks, growing with the month.
    stored = (Click.objects.filter(uid__in=uids, uid__range=(min(uids), max(uids)),
                                   created_at__gte=earliest - timedelta(seconds=1))
              .values_list("uid", flat=True))
    return {uid for uid in stored if uid is not None}


def clicks_ingest() -> int:
    """The worker's duty: the spool, then the Redis stream; returns how many clicks it wrote."""
    written = _spool_replay()
    client = _stream_client()
    if client is not None:
        written += _stream_drain(client, consumer=f"{os.uname().nodename}-{os.getpid()}")
    if written:
        metrics.count("obmin_clicks_written", written)
    return written


def _stream_drain(client: redis.Redis, *, consumer: str) -> int:
    try:
        client.xgroup_create(CLICK_STREAM, CLICK_GROUP, id="0", mkstream=True)
    except redis.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise
    written = 0
    # First what this worker read and could not write (the database was down: the batch is
    # still pending for it), then what a dead worker read and never acknowledged, then what
    # is new. redis-py's answers are typed loosely; their shapes are Redis's own.
    while True:
        own: Any = client.xreadgroup(CLICK_GROUP, consumer, {CLICK_STREAM: "0"}, count=BATCH)
        pending = own[0][1] if own else []
        if not pending:
            break
        written += _write_messages(client, pending)
    # Every message of a dead reader, a batch at a time (XAUTOCLAIM walks the pending list
    # with a cursor; "0-0" when it has seen all of it).
    cursor = "0-0"
    while True:
        claimed_answer: Any = client.xautoclaim(CLICK_STREAM, CLICK_GROUP, consumer,
                                                min_idle_time=REDELIVER_AFTER_MS,
                                                start_id=cursor, count=BATCH)
        cursor, claimed = claimed_answer[0], claimed_answer[1]
        if claimed:
            written += _write_messages(client, claimed)
        if cursor in (b"0-0", "0-0"):
            break
    while True:
        answer: Any = client.xreadgroup(CLICK_GROUP, consumer, {CLICK_STREAM: ">"}, count=BATCH)
        messages = answer[0][1] if answer else []
        if messages:
            written += _write_messages(client, messages)
        if len(messages) < BATCH:
            # Caught up as of that read. What arrived since waits for the next round (a second
            # on): chasing it would write a trickle of tiny batches under steady traffic, each
            # with its own commit, and cost the worker and PostgreSQL twice as much per click.
            return written


def click_readers_forget() -> int:
    """The worker's duty: removes the stream's readers left by worker processes that are gone
    (nothing pending, idle an hour); returns how many."""
    client = _stream_client()
    if client is None:
        return 0
    try:
        readers: Any = client.xinfo_consumers(CLICK_STREAM, CLICK_GROUP)
    except redis.ResponseError:
        return 0  # no stream or group yet
    forgotten = 0
    for reader in readers:
        if reader["pending"] == 0 and reader["idle"] > FORGET_READER_AFTER_MS:
            # DELCONSUMER drops the reader's pending messages too: asked only of those
            # with none, and XGROUP answers how many it dropped.
            client.xgroup_delconsumer(CLICK_STREAM, CLICK_GROUP, reader["name"])
            forgotten += 1
    return forgotten


def _write_messages(client: redis.Redis, messages: list[tuple[bytes, dict[bytes, bytes]]]
                    ) -> int:
    clicks = []
    for _id, fields in messages:
        try:
            clicks.append(ClickData.from_json(fields[b"click"]))
        except (ValueError, TypeError, KeyError):
            logger.warning("dropping a malformed click message %r", _id)
    written = clicks_write(clicks)
    # Acknowledged only now that the batch is committed; a crash before this line means the
    # batch is delivered again and written once (the uid).
    ids = [message_id for message_id, _fields in messages]
    pipe = client.pipeline()
    pipe.xack(CLICK_STREAM, CLICK_GROUP, *ids)
    pipe.xdel(CLICK_STREAM, *ids)
    pipe.execute()
    return written


def clicks_waiting() -> int:
    """Clicks queued and not yet written: the stream's length plus spooled lines."""
    waiting = 0
    client = _stream_client()
    if client is not None:
        with contextlib.suppress(redis.RedisError, OSError):
            waiting += int(client.xlen(CLICK_STREAM))
    directory = spool_dir()
    if directory.exists():
        for path in directory.glob("clicks*"):
            with path.open("rb") as lines:
                waiting += sum(1 for _line in lines)
    return waiting


def oldest_waiting_age() -> float:
    """Seconds the oldest queued click has waited (0 when none waits): the ingestion lag."""
    oldest: float | None = None
    client = _stream_client()
    if client is not None:
        with contextlib.suppress(redis.RedisError, OSError):
            first: Any = client.xrange(CLICK_STREAM, count=1)
            if first:
                # A stream entry's id starts with its arrival in unix milliseconds.
                oldest = int(first[0][0].split(b"-")[0]) / 1000
    directory = spool_dir()
    for path in directory.glob("clicks*") if directory.exists() else []:
        with path.open("rb") as lines:
            for line in lines:
                with contextlib.suppress(ValueError, TypeError, KeyError):
                    moment = ClickData.from_json(line).created_at.timestamp()
                    oldest = moment if oldest is None else min(oldest, moment)
                break
    return max(datetime.now(UTC).timestamp() - oldest, 0.0) if oldest is not None else 0.0
