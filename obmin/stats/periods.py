"""Report periods in the partner's time zone: today, yesterday, 7 and 30 days, this and last
month, or a custom range of days; each knows its UTC bounds and the period before it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

KINDS = {
    "today": _("Today"),
    "yesterday": _("Yesterday"),
    "7d": _("7 days"),
    "30d": _("30 days"),
    "this_month": _("This month"),
    "last_month": _("Last month"),
    "custom": pgettext_lazy("period", "Custom"),
}
DEFAULT_KIND = "30d"
MAX_DAYS = 800  # a custom range longer than two years is refused


@lru_cache(maxsize=256)
def zone_named(name: str) -> tzinfo | None:
    """The IANA zone called `name`, or None when there is none such."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_of(setting: str, browser: str = "") -> tzinfo:
    """The partner's own zone; when it has none, its browser's; else UTC."""
    return zone_named(setting) or zone_named(browser) or UTC


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The first instant of `day` in `zone`, as an aware UTC datetime."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _previous_month(day: date) -> date:
    return (_month_start(day) - timedelta(days=1)).replace(day=1)


@dataclass(frozen=True)
class Period:
    """The local days `first`..`last` (inclusive) in `zone`."""

    kind: str
    first: date
    last: date
    zone: tzinfo

    @property
    def start(self) -> datetime:
        return local_midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return local_midnight(self.last + timedelta(days=1), self.zone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        return str(KINDS.get(self.kind, ""))

    def previous(self) -> Period:
        """The period to compare with: the month before for months, else as many days just
        before."""
        if self.kind in ("this_month", "last_month"):
            first = _previous_month(self.first)
            month_last = _month_start(self.first) - timedelta(days=1)
            last = min(first + timedelta(days=self.days - 1), month_last)
            return Period(self.kind, first, last, self.zone)
        return Period(self.kind, self.first - timedelta(days=self.days),
                      self.first - timedelta(days=1), self.zone)

    def query(self) -> str:
        """The query string that selects this period again ("today" stays today: for links
        between report pages)."""
        if self.kind == "custom":
            return self.days_query()
        return f"period={self.kind}"

    def days_query(self) -> str:
        """The query string that selects these very days (for downloads: a CSV fetched after
        midnight still holds the day the page showed, not the new one)."""
        return f"period=custom&from={self.first.isoformat()}&to={self.last.isoformat()}"


def period_of(kind: str, *, today: date, zone: tzinfo, first: date | None = None,
              last: date | None = None) -> Period:
    """A named period ending today, or a custom range; ValueError for a bad range."""
    if kind == "today":
        return Period(kind, today, today, zone)
    if kind == "yesterday":
        day = today - timedelta(days=1)
        return Period(kind, day, day, zone)
    if kind in ("7d", "30d"):
        return Period(kind, today - timedelta(days=int(kind[:-1]) - 1), today, zone)
    if kind == "this_month":
        return Period(kind, _month_start(today), today, zone)
    if kind == "last_month":
        return Period(kind, _previous_month(today), _month_start(today) - timedelta(days=1),
                      zone)
    if kind == "custom" and first is not None and last is not None:
        if last < first:
            raise ValueError(_("The end of the range is before its start."))
        if (last - first).days + 1 > MAX_DAYS:
            raise ValueError(_("A range may span at most %(days)s days.") % {"days": MAX_DAYS})
        return Period(kind, first, last, zone)
    raise ValueError(_("Unknown period."))


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def period_from_query(params: Mapping[str, str], *, now: datetime,
                      zone: tzinfo) -> tuple[Period, str]:
    """The period a page's query asks for (30 days when none), and an error to show ("" if
    none: a bad request falls back to the default rather than failing the page)."""
    today = now.astimezone(zone).date()
    kind = params.get("period") or DEFAULT_KIND
    try:
        return period_of(kind, today=today, zone=zone, first=_day(params.get("from")),
                         last=_day(params.get("to"))), ""
    except ValueError as error:
        message = str(error)
        if kind == "custom" and not (_day(params.get("from")) and _day(params.get("to"))):
            message = str(_("Give both days of the range as YYYY-MM-DD."))
        return period_of(DEFAULT_KIND, today=today, zone=zone), message
