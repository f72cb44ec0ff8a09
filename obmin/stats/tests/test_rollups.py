"""Rollups plus live rows give exactly the raw counts, whatever the zone and the split."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obmin.partners.models import Click, ClickDay
from obmin.stats.dimensions import browser_family, network, referrer_domain
from obmin.stats.models import ClickRollup
from obmin.stats.periods import Period
from obmin.stats.selectors import click_breakdown, click_days, click_totals
from obmin.stats.services import clicks_roll_up, rollups_rebuild

T0 = datetime(2026, 3, 1, tzinfo=UTC)
KYIV = ZoneInfo("Europe/Kyiv")
KOLKATA = ZoneInfo("Asia/Kolkata")  # +05:30
KATHMANDU = ZoneInfo("Asia/Kathmandu")  # +05:45


def click(partner, moment, **fields):
    defaults = {"uid": uuid.uuid4(), "browser": "Chrome 120", "ip": "203.0.113.0",
                "referrer": "https://www.bestchange.com/x", "is_unique": True}
    return Click.objects.create(partner=partner, created_at=moment, **{**defaults, **fields})


def test_a_click_at_2330_utc_counts_on_the_next_day_in_kyiv(alice):
    click(alice, datetime(2026, 6, 10, 23, 30, tzinfo=UTC))
    clicks_roll_up(settle=False)
    june_11 = Period("custom", date(2026, 6, 11), date(2026, 6, 11), KYIV)
    june_10 = Period("custom", date(2026, 6, 10), date(2026, 6, 10), KYIV)
    assert click_totals(partner_id=alice.pk, start=june_11.start, end=june_11.end) == (1, 1)
    assert click_totals(partner_id=alice.pk, start=june_10.start, end=june_10.end) == (0, 0)
    utc_10 = Period("custom", date(2026, 6, 10), date(2026, 6, 10), UTC)
    assert click_totals(partner_id=alice.pk, start=utc_10.start, end=utc_10.end) == (1, 1)
    assert dict(click_days(partner_id=alice.pk, period=june_11)) == {date(2026, 6, 11): [1, 1]}


def test_half_hour_zone_splits_the_hour_exactly(alice):
    # 18:00-19:00 UTC is 23:30-00:30 in Kolkata: two clicks each side of local midnight.
    for minute in (5, 25, 35, 55):
        click(alice, datetime(2026, 6, 10, 18, minute, tzinfo=UTC))
    clicks_roll_up(settle=False)
    two_days = Period("custom", date(2026, 6, 10), date(2026, 6, 11), KOLKATA)
    days = click_days(partner_id=alice.pk, period=two_days)
    assert days[date(2026, 6, 10)] == [2, 2]
    assert days[date(2026, 6, 11)] == [2, 2]
    day_11 = Period("custom", date(2026, 6, 11), date(2026, 6, 11), KOLKATA)
    assert click_totals(partner_id=alice.pk, start=day_11.start, end=day_11.end) == (2, 2)


def test_late_click_is_rolled_into_its_own_hour_once(alice):
    click(alice, T0 + timedelta(hours=5))
    clicks_roll_up(settle=False)
    click(alice, T0 + timedelta(hours=1))  # arrives later, from the spool
    assert click_totals(partner_id=alice.pk, start=T0, end=T0 + timedelta(days=1)) == (2, 2)
    clicks_roll_up(settle=False)
    clicks_roll_up(settle=False)
    assert click_totals(partner_id=alice.pk, start=T0, end=T0 + timedelta(days=1)) == (2, 2)
    assert ClickRollup.objects.get(partner=alice, dimension="", hour=T0 + timedelta(hours=1)
                                   ).clicks == 1


def test_worker_round_waits_a_round_before_passing_new_ids(alice):
    click(alice, T0)
    assert clicks_roll_up() == 0  # only notes the highest id
    assert clicks_roll_up() == 1 or ClickRollup.objects.exists()
    assert click_totals(partner_id=alice.pk, start=T0, end=T0 + timedelta(hours=1)) == (1, 1)


def test_archived_days_are_counted_and_archiving_changes_nothing(alice):
    ClickDay.objects.create(partner=alice, day=date(2026, 2, 1), clicks=7, unique_clicks=3)
    old = click(alice, T0)
    clicks_roll_up(settle=False)
    month = (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))
    assert click_totals(partner_id=alice.pk, start=month[0], end=month[1]) == (8, 4)
    # The archive deletes the rolled-up click and adds it to its day: figures unchanged.
    Click.objects.filter(pk=old.pk).delete()
    ClickDay.objects.create(partner=alice, day=date(2026, 3, 1), clicks=1, unique_clicks=1)
    assert click_totals(partner_id=alice.pk, start=month[0], end=month[1]) == (8, 4)
    rollups_rebuild()
    assert click_totals(partner_id=alice.pk, start=month[0], end=month[1]) == (8, 4)


def test_crawlers_are_left_out_and_dimensions_are_derived(alice, bob):
    click(alice, T0, is_bot=True)
    click(alice, T0, browser="Firefox 121", referrer="https://WWW.Kurs.Expert/a", sub1="fb",
          ip="198.51.100.0", is_unique=False)
    click(bob, T0, sub1="fb")
    clicks_roll_up(settle=False)
    end = T0 + timedelta(hours=2)
    assert click_totals(partner_id=alice.pk, start=T0, end=end) == (1, 0)
    by = click_breakdown(partner_id=alice.pk, dimension="referrer", start=T0, end=end)
    assert dict(by) == {(0, "kurs.expert"): [1, 0]}
    assert dict(click_breakdown(partner_id=alice.pk, dimension="sub1", start=T0, end=end)) == {
        (0, "fb"): [1, 0]}
    program = click_breakdown(partner_id=None, dimension="network", start=T0, end=end,
                              by_partner=True)
    assert program[(alice.pk, "198.51.100.0/24")] == [1, 0]
    assert program[(bob.pk, "203.0.113.0/24")] == [1, 1]


def test_dimension_helpers():
    assert browser_family("Mobile Safari 17.2") == "Mobile Safari"
    assert browser_family("Unknown") == "Unknown"
    assert referrer_domain("bestchange.ru/x") == "bestchange.ru"
    assert referrer_domain("http://[::1") == ""
    assert network("2001:db8:85a3::1") == "2001:db8:85a3::/48"
    assert network("") == ""


moments = st.integers(min_value=0, max_value=4 * 86400 - 1).map(
    lambda s: T0 + timedelta(seconds=s))
clicks_st = st.lists(st.tuples(moments, st.booleans(), st.booleans(),
                               st.sampled_from(["", "a", "b"]), st.sampled_from(["UA", "PL"])),
                     max_size=25)


@pytest.mark.django_db
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(clicks=clicks_st, split=st.integers(min_value=0, max_value=25),
       zone=st.sampled_from([UTC, KYIV, KOLKATA, KATHMANDU]),
       first=st.integers(min_value=0, max_value=3), length=st.integers(min_value=1, max_value=3))
def test_rollup_plus_live_rows_equal_the_raw_counts(alice, clicks, split, zone, first, length):
    Click.objects.all().delete()
    ClickRollup.objects.all().delete()
    rollups_rebuild()
    for n, (moment, bot, unique, sub1, country) in enumerate(clicks):
        click(alice, moment, is_bot=bot, is_unique=unique, sub1=sub1, country=country)
        if n + 1 == split:
            clicks_roll_up(settle=False)  # some rolled up, the rest live
    period = Period("custom", date(2026, 3, 1) + timedelta(days=first),
                    date(2026, 3, 1) + timedelta(days=first + length - 1), zone)
    inside = [c for c in clicks if period.start <= c[0] < period.end and not c[1]]
    assert click_totals(partner_id=alice.pk, start=period.start, end=period.end) == (
        len(inside), sum(1 for c in inside if c[2]))
    days = Counter(c[0].astimezone(zone).date() for c in inside)
    got = {day: counts[0] for day, counts in
           click_days(partner_id=alice.pk, period=period).items() if counts[0]}
    assert got == dict(days)
    by_sub = Counter(c[3] for c in inside)
    got_sub = {value: counts[0] for (_p, value), counts in click_breakdown(
        partner_id=alice.pk, dimension="sub1", start=period.start, end=period.end).items()
        if counts[0]}
    assert got_sub == dict(by_sub)
