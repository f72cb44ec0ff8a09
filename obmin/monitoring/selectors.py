"""Reads the export is built from: the exporter's settings, the exported entries, the codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from obmin.exchange.models import DIRECTION_FLAGS, Direction
from obmin.lib.money import plain, significant
from obmin.monitoring.formats import ExportEntry, amount_with_code, normalize_rate, percent
from obmin.monitoring.models import ExportSettings
from obmin.partners.models import Partner


def export_settings() -> ExportSettings:
    """The settings row, or the defaults (unsaved) before the operator first saves them."""
    return ExportSettings.objects.filter(pk=1).first() or ExportSettings(pk=1)


def within_hours(moment: time, start: time, end: time) -> bool:
    """Whether `moment` is inside [start, end); an end before the start runs past midnight."""
    if start == end:
        return True
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def next_boundary(now: datetime, start: time, end: time) -> datetime:
    """The next moment after `now` (UTC) at which the working hours open or close."""
    candidates = []
    for boundary in (start, end):
        moment = now.replace(hour=boundary.hour, minute=boundary.minute,
                             second=boundary.second, microsecond=0)
        if moment <= now:
            moment += timedelta(days=1)
        candidates.append(moment)
    return min(candidates)


@dataclass(frozen=True)
class ExportList:
    entries: list[ExportEntry]
    # When the list would change by time alone (a rate going stale, working hours): rebuild then.
    expires_at: datetime | None
    # The oldest market quote behind an exported rate (None: no market rate is exported).
    oldest_input: datetime | None = None


def export_entries(*, now: datetime, settings: ExportSettings) -> ExportList:
    """One entry per direction a monitor may list now, in a stable order.

    Left out: inactive directions or currencies, a zero rate, a rate older than the operator's
    maximum age, a market rate the sync hid or whose quotes passed their maximum age
    (`Direction.rate_withheld`), no reserve of the currency the customer gets, and manual
    directions outside working hours.
    """
    max_age = (timedelta(minutes=settings.max_rate_age_minutes)
               if settings.max_rate_age_minutes else None)
    manual_open = True
    expiries: list[datetime] = []
    if settings.manual_hours_enabled:
        manual_open = within_hours(now.time(), settings.manual_hours_start,
                                   settings.manual_hours_end)
    has_manual = False
    entries = []
    directions = (Direction.objects.offered(now)
                  .filter(rate_give__gt=0, rate_get__gt=0, currency_get__reserve__gt=0)
                  .select_related("currency_give", "currency_get"))
    inputs: list[datetime] = []
    for d in directions:
        if d.rate_valid_until is not None:
            expiries.append(d.rate_valid_until)
        if max_age is not None:
            stale_at = d.rate_updated_at + max_age
            if stale_at <= now:
                continue
            expiries.append(stale_at)
        flags = [flag for flag in d.flag_list if flag in DIRECTION_FLAGS]
        if "manual" in flags:
            has_manual = True
            if not manual_open:
                continue
        entries.append(direction_entry(d, flags))
        if d.rate_inputs_at is not None:
            inputs.append(d.rate_inputs_at)
    if settings.manual_hours_enabled and has_manual:
        expiries.append(next_boundary(now, settings.manual_hours_start,
                                      settings.manual_hours_end))
    return ExportList(entries, min(expiries) if expiries else None,
                      min(inputs) if inputs else None)


def direction_entry(d: Direction, flags: list[str]) -> ExportEntry:
    give, get = d.currency_give, d.currency_get
    rate_in, rate_out = normalize_rate(d.rate_give, d.rate_get)
    # Never more than the reserve can pay (the exchange form refuses more), in the currency
    # the customer gives; the direction's own maximum when it is lower.
    payable = significant(get.reserve * d.rate_give / d.rate_get)
    maximum = min(d.max_amount, payable) if d.max_amount else payable
    return ExportEntry(
        from_code=give.code,
        to_code=get.code,
        rate_in=rate_in,
        rate_out=rate_out,
        amount=plain(get.reserve),
        minamount=amount_with_code(d.min_amount, give.code),
        maxamount=amount_with_code(maximum, give.code),
        fromfee=percent(d.fee_give_percent) if d.fee_give_percent > 0 else "",
        tofee=amount_with_code(d.fee_get, get.code) if d.fee_get > 0 else "",
        city=d.city.upper(),
        param=",".join(flags),
    )


def export_codes() -> dict[str, tuple[int, bool]]:
    """Lower-cased export code -> (partner id, whether it may see rates)."""
    rows = Partner.objects.values_list("export_code", "id", "export_enabled", "is_blocked")
    return {code.lower(): (pk, enabled and not blocked)
            for code, pk, enabled, blocked in rows if code}
