"""Unix seconds, UTC date strings (as the wire wants them) and UTC day boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime, time


def to_unix(moment: datetime) -> int:
    return int(moment.timestamp())


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def utc_date(moment: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS` in UTC, the `date` field of every API item."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def day_start(day: date) -> datetime:
    """The first instant of a UTC day: statistics and unique clicks count UTC days."""
    return datetime.combine(day, time.min, tzinfo=UTC)
