"""Daily click statistics, and archiving old clicks into daily totals without changing them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from obmin.partners.models import Click, ClickDay, ReferralSettings
from obmin.partners.selectors import partner_click_stats, partner_click_totals, partner_links
from obmin.partners.services import clicks_archive

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def add(partner, when, visitor="v1", bot=False, unique=True, ip="203.0.113.0"):
    return Click.objects.create(partner=partner, created_at=when, user_hash=visitor, is_bot=bot,
                                is_unique=unique and not bot, ip=ip)


@pytest.fixture
def traffic(alice, bob):
    """alice: 3 days of clicks (one a crawler's), bob: one click; days are UTC days."""
    day1 = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    add(alice, day1, "v1")
    add(alice, day1 - timedelta(hours=5), "v1", unique=False)
    add(alice, day1, bot=True, visitor="")
    add(alice, day1 + timedelta(seconds=1), "v2")  # 2 March 00:00:00
    add(alice, datetime(2026, 3, 19, 8, tzinfo=UTC), "v3")
    add(alice, datetime(2026, 3, 19, 9, tzinfo=UTC), "v3", unique=False)
    add(bob, day1, "v9")
    return alice


def test_stats_per_utc_day_without_crawlers(traffic):
    stats = partner_click_stats(partner=traffic, start=date(2026, 3, 1), end=date(2026, 3, 3))
    assert stats == [
        {"day": date(2026, 3, 1), "clicks": 2, "unique_clicks": 1},
        {"day": date(2026, 3, 2), "clicks": 1, "unique_clicks": 1},
        {"day": date(2026, 3, 3), "clicks": 0, "unique_clicks": 0},
    ]
    assert partner_click_totals(partner=traffic, start=date(2026, 3, 1),
                                end=date(2026, 3, 31)) == {"clicks": 5, "unique_clicks": 3}
    assert partner_click_stats(partner=traffic, start=date(2026, 3, 5), end=date(2026, 3, 4)) \
        == []


def test_links_leave_crawlers_and_other_partners_out(traffic, bob):
    links = partner_links(partner=traffic)
    assert links.count() == 5 and not links.filter(is_bot=True).exists()
    assert all(link.partner_id == traffic.pk for link in links)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    assert partner_links(partner=traffic, start=start).count() == 3
    assert partner_links(partner=traffic, ip="198.51.100.0").count() == 0


def test_archive_keeps_statistics_whole_and_is_idempotent(traffic, bob):
    month = {"start": date(2026, 3, 1), "end": date(2026, 3, 31)}
    before = partner_click_stats(partner=traffic, **month)
    before_bob = partner_click_stats(partner=bob, **month)

    result = clicks_archive(older_than_days=7, now=NOW)  # days before 13 March
    assert (result.clicks, result.days) == (5, 3)  # alice 1 and 2 March, bob 1 March
    assert Click.objects.filter(created_at__lt=datetime(2026, 3, 13, tzinfo=UTC)).count() == 0
    assert Click.objects.count() == 2
    day = ClickDay.objects.get(partner=traffic, day=date(2026, 3, 1))
    assert (day.clicks, day.unique_clicks, day.bot_clicks) == (2, 1, 1)
    assert partner_click_stats(partner=traffic, **month) == before
    assert partner_click_stats(partner=bob, **month) == before_bob

    again = clicks_archive(older_than_days=7, now=NOW)
    assert (again.clicks, again.days) == (0, 0)
    assert partner_click_stats(partner=traffic, **month) == before

    # A late click for an archived day (clock skew, an import) is added, never overwritten.
    add(traffic, datetime(2026, 3, 1, 10, tzinfo=UTC), "v7")
    clicks_archive(older_than_days=7, now=NOW)
    assert ClickDay.objects.get(partner=traffic, day=date(2026, 3, 1)).clicks == 3
    assert partner_click_totals(partner=traffic, **month) == {"clicks": 6, "unique_clicks": 4}


def test_archive_in_small_batches(traffic, monkeypatch):
    from obmin.partners import services

    monkeypatch.setattr(services, "ARCHIVE_BATCH", 1)
    month = {"start": date(2026, 3, 1), "end": date(2026, 3, 31)}
    before = partner_click_stats(partner=traffic, **month)
    assert clicks_archive(older_than_days=1, now=NOW + timedelta(days=1)).clicks == 7
    assert not Click.objects.exists()
    assert partner_click_stats(partner=traffic, **month) == before


def test_archive_refuses_zero_days():
    with pytest.raises(ValueError):
        clicks_archive(older_than_days=0)


def test_command_uses_the_program_setting(traffic, capsys):
    call_command("clicks", "archive")
    assert "off" in capsys.readouterr().out
    assert Click.objects.count() == 7

    ReferralSettings.objects.create(archive_after_days=1)
    call_command("clicks", "archive")
    assert capsys.readouterr().out.strip().startswith("Archived 7 clicks")
    assert not Click.objects.exists()


def test_command_bad_input_fails(db):
    with pytest.raises(CommandError):
        call_command("clicks", "archive", "--older-than-days", "0")
