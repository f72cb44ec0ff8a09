"""List columns of the back office: times of one width at every hour, in the admin's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from obmin.exchange.models import Direction
from obmin.lib.admin import short_time, time_column


def test_a_list_time_has_one_width_at_every_hour_and_minute():
    texts = {short_time(datetime(2026, 11, 28, hour, minute, tzinfo=UTC))
             for hour in range(24) for minute in (0, 5, 59)}
    assert len(texts) == 72 and {len(text) for text in texts} == {16}
    assert short_time(datetime(2026, 2, 1, 9, 5, 59, tzinfo=UTC)) == "2026-02-01 09:05"
    assert short_time(None) == "-"


def test_a_list_time_is_in_the_admins_zone():
    moment = datetime(2026, 11, 28, 22, 30, tzinfo=UTC)
    with timezone.override(ZoneInfo("Europe/Kyiv")):
        assert short_time(moment) == "2026-11-29 00:30"


def test_a_time_column_is_headed_and_sorted_by_its_field():
    column = time_column(Direction, "rate_updated_at")
    assert column.short_description == Direction._meta.get_field("rate_updated_at").verbose_name
    assert column.admin_order_field == "rate_updated_at"
    direction = Direction(rate_updated_at=datetime(2026, 11, 28, 7, 43, tzinfo=UTC))
    assert column(direction) == "2026-11-28 07:43"
    assert time_column(Direction, "rate_updated_at", "changed").short_description == "changed"
