"""State changes of the monitoring room: the poll-statistics flush and the export switch."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.core.cache import cache
from django.db import transaction

from obmin.monitoring import polls
from obmin.monitoring.models import DefaultExportPollHour, MonitorPollHour, MonitorStatus
from obmin.monitoring.snapshot import on_data_changed
from obmin.partners.models import Partner

# ---------------------------------------------------------------------------------------------
# Poll statistics: cache counters -> database.

FLUSHED_AT_KEY = "monitoring:polls:flushed-at"


def monitor_polls_flush(*, now: float | None = None) -> int:
    """Copies the cache's poll counters and last-seen times into the database.

    Idempotent: an hour's row takes the cache's running total (never lowered), so flushing
    twice, or from two processes, counts nothing twice; a row another process created meanwhile
    is left to it (ignore_conflicts) and brought up to the total by the next flush. Returns the
    number of rows written.
    """
    polls.polls_push(now)
    now = time.time() if now is None else now
    since = cache.get(FLUSHED_AT_KEY) or now - 3600
    first_hour = polls.hour_of(max(since, now - polls.COUNTER_TTL))
    hours = list(range(first_hour, polls.hour_of(now) + 1, 3600))
    partner_ids = list(Partner.objects.values_list("id", flat=True))
    keys = {polls.counter_key(pk, hour): (pk, hour)
            for pk in [*partner_ids, polls.DEFAULT_EXPORT] for hour in hours}
    counts = {keys[key]: int(value) for key, value in cache.get_many(list(keys)).items()}
    default_counts = {hour: counts.pop((pk, hour)) for pk, hour in list(counts)
                      if pk == polls.DEFAULT_EXPORT}
    seen_keys = {polls.seen_key(pk): pk for pk in partner_ids}
    seen = {seen_keys[key]: value for key, value in cache.get_many(list(seen_keys)).items()}
    written = 0
    with transaction.atomic():
        if default_counts:
            written += _default_polls_write(default_counts)
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
            MonitorPollHour.objects.bulk_create(create, ignore_conflicts=True)
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
            MonitorStatus.objects.bulk_create(create_s, ignore_conflicts=True)
            MonitorStatus.objects.bulk_update(update_s, ["last_seen"])
            written += len(create_s) + len(update_s)
    cache.set(FLUSHED_AT_KEY, now, polls.COUNTER_TTL)
    return written


def _default_polls_write(counts: dict[int, int]) -> int:
    """The default export's hourly counts (unix hour -> running total), never lowered."""
    moments = {hour: datetime.fromtimestamp(hour, tz=UTC) for hour in counts}
    existing = {int(row.hour.timestamp()): row for row in
                DefaultExportPollHour.objects.filter(hour__in=moments.values())}
    create, update = [], []
    for hour, value in counts.items():
        row = existing.get(hour)
        if row is None:
            create.append(DefaultExportPollHour(hour=moments[hour], polls=value))
        elif value > row.polls:
            row.polls = value
            update.append(row)
    DefaultExportPollHour.objects.bulk_create(create, ignore_conflicts=True)
    DefaultExportPollHour.objects.bulk_update(update, ["polls"])
    return len(create) + len(update)


def monitor_export_switch(*, partner_ids: list[int], enabled: bool) -> int:
    """Switches the export on or off for these partners; returns how many changed."""
    count = Partner.objects.filter(pk__in=partner_ids).update(export_enabled=enabled)
    on_data_changed()  # update() sends no post_save
    return count
