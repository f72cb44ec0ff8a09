"""The rate feed: rates, limits and reserves from a CSV or JSON file, all rows or none; and
the market rates obmin/rates' sync computes (`market_rates_apply`).

Used by `obmin rates import FILE` and the upload page on the directions' admin. A file is
parsed into rows (`parse_rates_file`), checked against the catalogue (`rates_validate`, which
writes nothing), then written in one transaction (`rates_apply`); `rates_import` does both.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import PurePath

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from obmin.exchange.hooks import rates_changed
from obmin.exchange.models import AMOUNT, Currency, Direction, normalize_currency_code
from obmin.lib.errors import Refused
from obmin.lib.money import plain, quantize

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

# (give code, get code, upper-case city): how a file names a direction.
DirectionKey = tuple[str, str, str]


class RatesImportError(Refused):
    """A refused file: `message` is one line naming the row at fault; `field` is the column."""


@dataclass(frozen=True)
class DirectionRates:
    """New values for one direction; a limit of None keeps the direction's current one."""

    direction_id: int
    name: str
    where: str
    rate_give: Decimal
    rate_get: Decimal
    min_amount: Decimal | None
    max_amount: Decimal | None


@dataclass(frozen=True)
class ReserveChange:
    code: str
    where: str
    reserve: Decimal


@dataclass(frozen=True)
class RatesUpdate:
    """What a checked file will change, in file order: one entry per direction or currency."""

    directions: tuple[DirectionRates, ...]
    reserves: tuple[ReserveChange, ...]


@dataclass(frozen=True)
class ImportResult:
    directions: int
    reserves: int

    @property
    def summary(self) -> str:
        return _("Updated %(directions)d direction(s) and %(reserves)d reserve(s).") % {
            "directions": self.directions, "reserves": self.reserves}


# ---------------------------------------------------------------------------------------------
# Files -> rows


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


# ---------------------------------------------------------------------------------------------
# Rows -> RatesUpdate (checks only)


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
                               % {"where": where, "column": column, "value": raw},
                               column) from None
    if not value.is_finite() or abs(value) >= MAX_VALUE:
        raise RatesImportError(_("%(where)s: %(column)s is out of range: %(value)s.")
                               % {"where": where, "column": column, "value": raw}, column)
    rounded = quantize(value, DECIMAL_PLACES)
    if positive and rounded <= 0:
        raise RatesImportError(_("%(where)s: %(column)s must be greater than zero, got %(value)s.")
                               % {"where": where, "column": column, "value": raw}, column)
    if rounded < 0:
        raise RatesImportError(_("%(where)s: %(column)s must not be negative, got %(value)s.")
                               % {"where": where, "column": column, "value": raw}, column)
    return rounded


def _required_decimal(row: Mapping[str, object], column: str, where: str) -> Decimal:
    """A rate: present (checked by the caller) and greater than zero."""
    value = _decimal(row, column, where, positive=True)
    if value is None:
        raise RatesImportError(_("%(where)s: %(column)s is missing.")
                               % {"where": where, "column": column}, column)
    return value


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


def _limits_error(where: str, low: Decimal, high: Decimal) -> RatesImportError | None:
    """The refusal when a maximum (0: none) is below the minimum, else None."""
    if high and high < low:
        return RatesImportError(_("%(where)s: maximum %(max)s is below minimum %(min)s.")
                                % {"where": where, "max": plain(high), "min": plain(low)},
                                "max")
    return None


def rates_validate(*, rows: Iterable[Mapping[str, object]], currencies: Mapping[str, Currency],
                   directions: Mapping[DirectionKey, Direction]) -> RatesUpdate:
    """Checks every row against the catalogue and says what the file will change.

    A direction row names `from`, `to` (and `city` for cash directions), `in` and `out`
    (rate_give and rate_get), optionally `reserve` (of the `to` currency), `min` and `max`.
    A reserve row names `currency` and `reserve`. The first fault raises RatesImportError
    naming its row. Writes nothing; `currencies` by code and `directions` by DirectionKey
    are all there are (rates_import reads them locked).
    """
    changes: dict[DirectionKey, DirectionRates] = {}
    reserves: dict[str, ReserveChange] = {}

    def set_reserve(code: str, value: Decimal, where: str) -> None:
        other = reserves.get(code)
        if other is not None and other.reserve != value:
            raise RatesImportError(
                _("%(where)s: reserve of %(code)s %(value)s differs from %(other)s "
                  "given in %(other_where)s.")
                % {"where": where, "code": code, "value": plain(value),
                   "other": plain(other.reserve), "other_where": other.where},
                "reserve")
        reserves[code] = ReserveChange(code=code, where=where, reserve=value)

    def currency(row: Mapping[str, object], column: str, where: str) -> Currency:
        code = normalize_currency_code(_text(row[column]))
        if code not in currencies:
            raise RatesImportError(_("%(where)s: unknown currency %(code)r.")
                                   % {"where": where, "code": code}, column)
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
                    % {"where": where, "columns": ", ".join(stray)}, stray[0])
            cur = currency(row, "currency", where)
            reserve = _decimal(row, "reserve", where)
            if reserve is None:
                raise RatesImportError(_("%(where)s: reserve is missing.") % {"where": where},
                                       "reserve")
            set_reserve(cur.code, reserve, where)
            continue
        for column in ("from", "to", "in", "out"):
            if not _text(row.get(column)):
                raise RatesImportError(_("%(where)s: %(column)s is missing.")
                                       % {"where": where, "column": column}, column)
        give, get = currency(row, "from", where), currency(row, "to", where)
        city = _text(row.get("city")).upper()
        key = (give.code, get.code, city)
        direction = directions.get(key)
        name = f"{give.code} → {get.code}" + (f" ({city})" if city else "")
        if direction is None:
            raise RatesImportError(_("%(where)s: no exchange direction %(name)s.")
                                   % {"where": where, "name": name})
        if key in changes:
            raise RatesImportError(_("%(where)s: direction %(name)s is given twice.")
                                   % {"where": where, "name": name})
        rate_give = _required_decimal(row, "in", where)
        rate_get = _required_decimal(row, "out", where)
        low, high = _decimal(row, "min", where), _decimal(row, "max", where)
        error = _limits_error(where, direction.min_amount if low is None else low,
                              direction.max_amount if high is None else high)
        if error is not None:
            raise error
        reserve = _decimal(row, "reserve", where)
        if reserve is not None:
            set_reserve(get.code, reserve, where)
        changes[key] = DirectionRates(direction_id=direction.pk, name=name, where=where,
                                      rate_give=rate_give, rate_get=rate_get,
                                      min_amount=low, max_amount=high)
    if not count:
        raise RatesImportError(_("The file has no rows."))
    return RatesUpdate(directions=tuple(changes.values()), reserves=tuple(reserves.values()))


# ---------------------------------------------------------------------------------------------
# RatesUpdate -> database


def rates_apply(update: RatesUpdate) -> ImportResult:
    """Writes a checked update in one transaction, with the rows it changes locked.

    The rates get a fresh `rate_updated_at`; `rates_changed` is sent once (the export is
    rebuilt). What may have changed since `rates_validate` read the rows is checked again
    under the lock: a direction or currency deleted, a kept limit now above the new maximum.
    """
    now = timezone.now()
    with transaction.atomic():
        # Currencies before directions, the order rates_import locks them in.
        locked_currencies = Currency.objects.select_for_update().in_bulk(
            [change.code for change in update.reserves], field_name="code")
        locked_directions = Direction.objects.select_for_update().in_bulk(
            [change.direction_id for change in update.directions])
        directions = []
        for change in update.directions:
            direction = locked_directions.get(change.direction_id)
            if direction is None:
                raise RatesImportError(_("%(where)s: no exchange direction %(name)s.")
                                       % {"where": change.where, "name": change.name})
            low = direction.min_amount if change.min_amount is None else change.min_amount
            high = direction.max_amount if change.max_amount is None else change.max_amount
            error = _limits_error(change.where, low, high)
            if error is not None:
                raise error
            direction.rate_give, direction.rate_get = change.rate_give, change.rate_get
            direction.min_amount, direction.max_amount = low, high
            direction.rate_updated_at = direction.updated_at = now
            directions.append(direction)
        Direction.objects.bulk_update(
            directions, ["rate_give", "rate_get", "min_amount", "max_amount", "rate_updated_at",
                         "updated_at"])
        currencies = []
        for reserve in update.reserves:
            cur = locked_currencies.get(reserve.code)
            if cur is None:
                raise RatesImportError(_("%(where)s: unknown currency %(code)r.")
                                       % {"where": reserve.where, "code": reserve.code},
                                       "currency")
            cur.reserve, cur.updated_at = reserve.reserve, now
            currencies.append(cur)
        Currency.objects.bulk_update(currencies, ["reserve", "updated_at"])
        # bulk_update sends no post_save: one announcement for the whole feed.
        rates_changed.send(sender=Direction)
    return ImportResult(directions=len(directions), reserves=len(currencies))


def rates_import(*, rows: Iterable[Mapping[str, object]]) -> ImportResult:
    """Checks and writes rows, all or nothing, with the whole catalogue locked meanwhile."""
    with transaction.atomic():
        currencies = {c.code: c for c in Currency.objects.select_for_update()}
        directions = {
            (d.currency_give.code, d.currency_get.code, d.city.upper()): d
            for d in Direction.objects.select_for_update(of=("self",))
            .select_related("currency_give", "currency_get")
        }
        update = rates_validate(rows=rows, currencies=currencies, directions=directions)
        return rates_apply(update)


# ---------------------------------------------------------------------------------------------
# Market rates (kept by obmin/rates' sync)


@dataclass(frozen=True)
class MarketRate:
    """A direction's rate as the market sync computed it, or why it has none to offer.

    `rate_give`/`rate_get` None keeps the direction's last rate (unused while hidden);
    `hidden_reason` "" puts the direction back in the export.
    """

    direction_id: int
    rate_give: Decimal | None
    rate_get: Decimal | None
    inputs_at: datetime | None
    valid_until: datetime | None
    hidden_reason: str


MARKET_FIELDS = ("rate_give", "rate_get", "rate_inputs_at", "rate_valid_until",
                 "rate_hidden_reason")


def market_rates_apply(changes: Sequence[MarketRate]) -> int:
    """Writes market rates in one transaction and sends `rates_changed` once when anything
    changed (the export is rebuilt, the /ref/ table dropped). Answers how many directions
    changed; a direction deleted meanwhile is skipped."""
    now = timezone.now()
    with transaction.atomic():
        locked = Direction.objects.select_for_update().in_bulk(
            [change.direction_id for change in changes])
        changed = []
        for change in changes:
            direction = locked.get(change.direction_id)
            if direction is None:
                continue
            before = [getattr(direction, name) for name in MARKET_FIELDS]
            if change.rate_give is not None and change.rate_get is not None:
                direction.rate_give, direction.rate_get = change.rate_give, change.rate_get
            direction.rate_inputs_at = change.inputs_at
            direction.rate_valid_until = change.valid_until
            direction.rate_hidden_reason = change.hidden_reason[:500]
            if [getattr(direction, name) for name in MARKET_FIELDS] == before:
                continue
            if change.rate_give is not None:
                # Confirmed by fresh quotes now, changed or not: the operator's maximum rate
                # age (export settings) counts from here.
                direction.rate_updated_at = now
            direction.updated_at = now
            changed.append(direction)
        if changed:
            Direction.objects.bulk_update(changed, [*MARKET_FIELDS, "rate_updated_at",
                                                    "updated_at"])
            rates_changed.send(sender=Direction)
    return len(changed)
