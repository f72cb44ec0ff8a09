"""State changes of the monitoring room: the bulk rate feed and the poll-statistics flush."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import PurePath

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from obmin.exchange.hooks import rates_changed
from obmin.exchange.models import AMOUNT, Currency, Direction
from obmin.lib.money import plain, quantize
from obmin.monitoring import polls
from obmin.monitoring.models import MonitorPollHour, MonitorStatus
from obmin.monitoring.snapshot import on_data_changed
from obmin.partners.models import Partner

# ---------------------------------------------------------------------------------------------
# Rate feed: `obmin rates import FILE` and the admin's upload page.

# Column names accepted in a file, and the one each stands for.
COLUMNS = {
    "from": "from", "give": "from", "currency_give": "from",
    "to": "to", "get": "to", "currency_get": "to",
    "city": "city",
    "in": "in", "rate_give": "in",
    "out": "out", "rate_get": "out",
    "reserve": "reserve", "amount": "reserve",
    "min": "min", "min_amount": "min", "minamount": "min",
    "max": "max", "max_amount": "max", "maxamount": "max",
    "currency": "currency",
}
DECIMAL_PLACES = AMOUNT["decimal_places"]
MAX_VALUE = Decimal(10) ** (AMOUNT["max_digits"] - AMOUNT["decimal_places"])


class RatesImportError(Exception):
    """A refused file: `message` is one line naming the row at fault."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ImportResult:
    directions: int
    reserves: int

    @property
    def summary(self) -> str:
        return _("Updated %(directions)d direction(s) and %(reserves)d reserve(s).") % {
            "directions": self.directions, "reserves": self.reserves}


def parse_rates_file(*, name: str, content: bytes) -> list[dict[str, object]]:
    """Rows of a CSV or JSON rate file (by extension), each with `_where` for error messages.

    CSV: a header row, comma- or semicolon-separated. JSON: a list of row objects, or
    `{"rates": [...], "reserves": {"BTC": "2.5", ...}}`.
    """
    suffix = PurePath(name).suffix.lower()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RatesImportError(_("The file is not UTF-8 text.")) from None
    if suffix == ".csv":
        return _parse_csv(text)
    if suffix == ".json":
        return _parse_json(text)
    raise RatesImportError(_("Unsupported file type %(suffix)r: use .csv or .json.")
                           % {"suffix": suffix or name})


def _parse_csv(text: str) -> list[dict[str, object]]:
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[dict[str, object]] = []
    columns: list[str] | None = None
    for record in reader:
        if not any(cell.strip() for cell in record):
            continue
        if columns is None:
            columns = [cell.strip() for cell in record]
            continue
        where = _("line %(n)d") % {"n": reader.line_num}
        if len(record) > len(columns):
            raise RatesImportError(_("%(where)s: more cells than columns in the header.")
                                   % {"where": where})
        row: dict[str, object] = dict(zip(columns, record, strict=False))
        row["_where"] = where
        rows.append(row)
    return rows


def _parse_json(text: str) -> list[dict[str, object]]:
    try:
        data = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as error:
        raise RatesImportError(_("Not valid JSON: %(error)s.") % {"error": error}) from None
    reserves: object = {}
    if isinstance(data, dict):
        reserves = data.get("reserves", {})
        data = data.get("rates", [])
    if not isinstance(data, list) or not isinstance(reserves, dict):
        raise RatesImportError(
            _('JSON must be a list of rows or {"rates": [...], "reserves": {...}}.'))
    rows: list[dict[str, object]] = []
    for n, item in enumerate(data, start=1):
        where = _("item %(n)d") % {"n": n}
        if not isinstance(item, dict):
            raise RatesImportError(_("%(where)s: not an object.") % {"where": where})
        rows.append({**item, "_where": where})
    for code, reserve in reserves.items():
        rows.append({"currency": code, "reserve": reserve,
                     "_where": _("reserves.%(code)s") % {"code": code}})
    return rows


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _decimal(row: Mapping[str, object], column: str, where: str, *,
             positive: bool = False) -> Decimal | None:
    raw = _text(row.get(column))
    if not raw:
        return None
    try:
        value = Decimal(raw.replace(" ", ""))
    except InvalidOperation:
        raise RatesImportError(_("%(where)s: %(column)s is not a number: %(value)r.")
                               % {"where": where, "column": column, "value": raw}) from None
    if not value.is_finite() or abs(value) >= MAX_VALUE:
        raise RatesImportError(_("%(where)s: %(column)s is out of range: %(value)s.")
                               % {"where": where, "column": column, "value": raw})
    rounded = quantize(value, DECIMAL_PLACES)
    if positive and rounded <= 0:
        raise RatesImportError(_("%(where)s: %(column)s must be greater than zero, got %(value)s.")
                               % {"where": where, "column": column, "value": raw})
    if rounded < 0:
        raise RatesImportError(_("%(where)s: %(column)s must not be negative, got %(value)s.")
                               % {"where": where, "column": column, "value": raw})
    return rounded


def _canonical(row: Mapping[str, object], where: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in row.items():
        if key == "_where":
            continue
        name = COLUMNS.get(str(key).strip().lower())
        if name is None:
            raise RatesImportError(_("%(where)s: unknown column %(column)r; known: %(known)s.")
                                   % {"where": where, "column": key,
                                      "known": ", ".join(sorted(set(COLUMNS.values())))})
        out[name] = value
    return out


def rates_import(*, rows: Iterable[Mapping[str, object]]) -> ImportResult:
    """Updates rates, limits and reserves from rows, all or nothing, in one transaction.

    A direction row names `from`, `to` (and `city` for cash directions), `in` and `out`
    (rate_give and rate_get), optionally `reserve` (of the `to` currency), `min` and `max`.
    A reserve row names `currency` and `reserve`. Every row is checked before anything is
    written; the first fault raises RatesImportError naming its row. The rates get a fresh
    `rate_updated_at`, and the export is rebuilt.
    """
    now = timezone.now()
    with transaction.atomic():
        currencies = {c.code: c for c in Currency.objects.select_for_update()}
        directions = {
            (d.currency_give.code, d.currency_get.code, d.city.upper()): d
            for d in Direction.objects.select_for_update(of=("self",))
            .select_related("currency_give", "currency_get")
        }
        changed_directions: dict[tuple[str, str, str], Direction] = {}
        reserves: dict[str, tuple[Decimal, str]] = {}

        def set_reserve(code: str, value: Decimal, where: str) -> None:
            if code in reserves and reserves[code][0] != value:
                raise RatesImportError(
                    _("%(where)s: reserve of %(code)s %(value)s differs from %(other)s "
                      "given in %(other_where)s.")
                    % {"where": where, "code": code, "value": plain(value),
                       "other": plain(reserves[code][0]), "other_where": reserves[code][1]})
            reserves[code] = (value, where)

        def currency(code_value: object, where: str) -> Currency:
            code = _text(code_value).upper()
            if code not in currencies:
                raise RatesImportError(_("%(where)s: unknown currency %(code)r.")
                                       % {"where": where, "code": code})
            return currencies[code]

        count = 0
        for n, raw in enumerate(rows, start=1):
            count += 1
            where = _text(raw.get("_where")) or _("row %(n)d") % {"n": n}
            row = _canonical(raw, where)
            if _text(row.get("currency")):
                stray = [c for c in ("from", "to", "in", "out", "min", "max") if _text(row.get(c))]
                if stray:
                    raise RatesImportError(
                        _("%(where)s: a reserve row (with currency) cannot have: %(columns)s.")
                        % {"where": where, "columns": ", ".join(stray)})
                cur = currency(row["currency"], where)
                reserve = _decimal(row, "reserve", where)
                if reserve is None:
                    raise RatesImportError(_("%(where)s: reserve is missing.") % {"where": where})
                set_reserve(cur.code, reserve, where)
                continue
            for column in ("from", "to", "in", "out"):
                if not _text(row.get(column)):
                    raise RatesImportError(_("%(where)s: %(column)s is missing.")
                                           % {"where": where, "column": column})
            give, get = currency(row["from"], where), currency(row["to"], where)
            city = _text(row.get("city")).upper()
            key = (give.code, get.code, city)
            direction = directions.get(key)
            name = f"{give.code} → {get.code}" + (f" ({city})" if city else "")
            if direction is None:
                raise RatesImportError(_("%(where)s: no exchange direction %(name)s.")
                                       % {"where": where, "name": name})
            if key in changed_directions:
                raise RatesImportError(_("%(where)s: direction %(name)s is given twice.")
                                       % {"where": where, "name": name})
            rate_give = _decimal(row, "in", where, positive=True)
            rate_get = _decimal(row, "out", where, positive=True)
            low, high = _decimal(row, "min", where), _decimal(row, "max", where)
            low = direction.min_amount if low is None else low
            high = direction.max_amount if high is None else high
            if high and high < low:
                raise RatesImportError(
                    _("%(where)s: maximum %(max)s is below minimum %(min)s.")
                    % {"where": where, "max": plain(high), "min": plain(low)})
            reserve = _decimal(row, "reserve", where)
            if reserve is not None:
                set_reserve(get.code, reserve, where)
            assert rate_give is not None and rate_get is not None
            direction.rate_give, direction.rate_get = rate_give, rate_get
            direction.min_amount, direction.max_amount = low, high
            direction.rate_updated_at = direction.updated_at = now
            changed_directions[key] = direction
        if not count:
            raise RatesImportError(_("The file has no rows."))

        Direction.objects.bulk_update(
            changed_directions.values(),
            ["rate_give", "rate_get", "min_amount", "max_amount", "rate_updated_at",
             "updated_at"])
        changed_currencies = []
        for code, (value, _where) in reserves.items():
            cur = currencies[code]
            cur.reserve, cur.updated_at = value, now
            changed_currencies.append(cur)
        Currency.objects.bulk_update(changed_currencies, ["reserve", "updated_at"])
        # bulk_update sends no post_save: one announcement for the whole feed.
        rates_changed.send(sender=Direction)
    return ImportResult(directions=len(changed_directions), reserves=len(changed_currencies))


# ---------------------------------------------------------------------------------------------
# Poll statistics: cache counters -> database.

FLUSHED_AT_KEY = "monitoring:polls:flushed-at"


def monitor_polls_flush(*, now: float | None = None) -> int:
    """Copies the cache's poll counters and last-seen times into the database.

    Idempotent: an hour's row takes the cache's running total (never lowered), so flushing
    twice, or from two processes, counts nothing twice. Returns the number of rows written.
    """
    polls.polls_push(now)
    now = time.time() if now is None else now
    since = cache.get(FLUSHED_AT_KEY) or now - 3600
    first_hour = polls.hour_of(max(since, now - polls.COUNTER_TTL))
    hours = list(range(first_hour, polls.hour_of(now) + 1, 3600))
    partner_ids = list(Partner.objects.values_list("id", flat=True))
    keys = {polls.counter_key(pk, hour): (pk, hour) for pk in partner_ids for hour in hours}
    counts = {keys[key]: int(value) for key, value in cache.get_many(list(keys)).items()}
    seen_keys = {polls.seen_key(pk): pk for pk in partner_ids}
    seen = {seen_keys[key]: value for key, value in cache.get_many(list(seen_keys)).items()}
    written = 0
    with transaction.atomic():
        if counts:
            moments = {hour: datetime.fromtimestamp(hour, tz=UTC) for hour in hours}
            existing = {
                (row.partner_id, int(row.hour.timestamp())): row
                for row in MonitorPollHour.objects.filter(
                    partner_id__in={pk for pk, _ in counts}, hour__in=moments.values())
            }
            create, update = [], []
            for (pk, hour), value in counts.items():
                row = existing.get((pk, hour))
                if row is None:
                    create.append(MonitorPollHour(partner_id=pk, hour=moments[hour],
                                                  polls=value))
                elif value > row.polls:
                    row.polls = value
                    update.append(row)
            MonitorPollHour.objects.bulk_create(create)
            MonitorPollHour.objects.bulk_update(update, ["polls"])
            written += len(create) + len(update)
        if seen:
            statuses = MonitorStatus.objects.in_bulk(list(seen))
            create_s, update_s = [], []
            for pk, (first, last) in seen.items():
                first_at = datetime.fromtimestamp(first, tz=UTC)
                last_at = datetime.fromtimestamp(last, tz=UTC)
                status = statuses.get(pk)
                if status is None:
                    create_s.append(MonitorStatus(partner_id=pk, first_seen=first_at,
                                                  last_seen=last_at))
                elif last_at > status.last_seen:
                    status.last_seen = last_at
                    update_s.append(status)
            MonitorStatus.objects.bulk_create(create_s)
            MonitorStatus.objects.bulk_update(update_s, ["last_seen"])
            written += len(create_s) + len(update_s)
    cache.set(FLUSHED_AT_KEY, now, polls.COUNTER_TTL)
    return written


def monitor_export_switch(*, partner_ids: list[int], enabled: bool) -> int:
    """Switches the export on or off for these partners; returns how many changed."""
    count = Partner.objects.filter(pk__in=partner_ids).update(export_enabled=enabled)
    on_data_changed()  # update() sends no post_save
    return count
