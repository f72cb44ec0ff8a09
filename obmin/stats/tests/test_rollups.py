"""Rollups plus live rows give exactly the raw counts, whatever the zone and the split."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obmin.exchange.models import Exchange, ExchangeStatus
from obmin.lib.money import quantize
from obmin.partners.models import Click, ClickDay
from obmin.stats.dimensions import browser_family, network, referrer_domain
from obmin.stats.models import (
    ClickDayRollup,
    ClickRollup,
    ExchangeDayRollup,
    ExchangeRollup,
    RollupState,
)
from obmin.stats.periods import Period
from obmin.stats.selectors import (
    ZERO,
    Cover,
    _cuts,
    breakdown,
    click_breakdown,
    click_days,
    click_totals,
    figures,
    series,
)
from obmin.stats.services import clicks_roll_up, exchanges_roll_up, rollups_rebuild

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


# --- exchanges ------------------------------------------------------------------------------

USD_PRICES = [Decimal(1), Decimal("0.5"), Decimal("1.25")]
REWARDS = [Decimal(0), Decimal("1.5"), Decimal("2.25")]
exchanges_st = st.lists(
    st.tuples(moments, st.booleans(), st.sampled_from(REWARDS), st.integers(1, 1000),
              st.sampled_from(USD_PRICES), st.sampled_from(["", "a", "b"]), st.booleans()),
    max_size=15)


def exchange(partner, direction, moment, *, success, reward, amount, price, sub1, updated):
    return Exchange.objects.create(
        direction=direction, currency_give=direction.currency_give,
        currency_get=direction.currency_get, rate_give=1, rate_get=1, amount_give=amount,
        amount_get=amount, usd_price_give=price, email="c@example.org", account_get="acc",
        partner=partner, status=ExchangeStatus.SUCCESS if success else ExchangeStatus.NEW,
        partner_reward=reward, reward_accrued=bool(reward) and success, sub1=sub1,
        created_at=moment, updated_at=updated)


def expected(rows):
    """(exchanges, successful, turnover, rewards) of raw exchange tuples, as the service
    rounds them."""
    ok = [r for r in rows if r[1]]
    return (len(rows), len(ok), quantize(sum((Decimal(r[3]) * r[4] for r in ok), ZERO), 2),
            quantize(sum((r[2] for r in ok if r[2]), ZERO), 2))


def got(f):
    return (f.exchanges, f.successful, f.turnover, f.rewards)


@pytest.mark.django_db
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=exchanges_st, split=st.integers(min_value=0, max_value=15),
       changed=st.sets(st.integers(min_value=0, max_value=14), max_size=5),
       again=st.booleans(), zone=st.sampled_from([UTC, KYIV, KOLKATA, KATHMANDU]),
       first=st.integers(min_value=0, max_value=3), length=st.integers(min_value=1, max_value=3))
def test_exchange_rollups_plus_changed_rows_equal_the_raw_figures(
        alice, pm_usdt, rows, split, changed, again, zone, first, length):
    """Exchanges made before a round (with their past `updated_at`), after it, and changed
    after it (status and reward, as a status change does): every figure equals the raw
    table's, in four zones, whether or not a later round has rebuilt the changed hours."""
    Exchange.objects.all().delete()
    ExchangeRollup.objects.all().delete()
    ExchangeDayRollup.objects.all().delete()
    RollupState.objects.all().delete()
    made = []
    for n, (moment, success, reward, amount, price, sub1, _flip) in enumerate(rows):
        updated = moment if n < split else timezone.now()
        made.append(exchange(alice, pm_usdt, moment, success=success, reward=reward,
                             amount=amount, price=price, sub1=sub1, updated=updated))
        if n + 1 == split:
            exchanges_roll_up()
    rows = list(rows)
    for n in sorted(changed):
        if n < len(rows):  # flip the status after the round, as a status change would
            moment, success, reward, amount, price, sub1, flip = rows[n]
            rows[n] = (moment, not success, reward, amount, price, sub1, flip)
            Exchange.objects.filter(pk=made[n].pk).update(
                status=ExchangeStatus.NEW if success else ExchangeStatus.SUCCESS,
                reward_accrued=bool(reward) and not success, updated_at=timezone.now())
    if again:
        exchanges_roll_up()
    period = Period("custom", date(2026, 3, 1) + timedelta(days=first),
                    date(2026, 3, 1) + timedelta(days=first + length - 1), zone)
    inside = [r for r in rows if period.start <= r[0] < period.end]
    assert got(figures(partner_id=alice.pk, start=period.start, end=period.end)) == expected(
        inside)
    by_day = {day: expected([r for r in inside if r[0].astimezone(zone).date() == day])
              for day in {r[0].astimezone(zone).date() for r in inside}}
    assert {row.day: got(row.figures) for row in series(partner_id=alice.pk, period=period)
            if row.figures.exchanges} == by_day
    by_sub = {value: expected([r for r in inside if r[5] == value])
              for value in {r[5] for r in inside}}
    assert {row.key: got(row.figures) for row in breakdown(
        partner_id=alice.pk, dimension="sub1", period=period) if row.figures.exchanges} == by_sub
    direction = f"{pm_usdt.currency_give.code} → {pm_usdt.currency_get.code}"
    assert {row.key: got(row.figures) for row in breakdown(
        partner_id=alice.pk, dimension="direction", period=period)} == (
        {direction: expected(inside)} if inside else {})


def test_a_year_reads_day_rows_not_hours(alice, django_assert_max_num_queries):
    """A year's totals read whole UTC days from the daily rollups: the rows read grow with
    the days, and the queries stay a handful."""
    for day in range(0, 365, 7):
        click(alice, T0 + timedelta(days=day, hours=5))
    clicks_roll_up(settle=False)
    exchanges_roll_up()
    cover = Cover.of(T0 + timedelta(hours=3, minutes=30), T0 + timedelta(days=365, hours=3))
    assert cover.raw == [(T0 + timedelta(hours=3, minutes=30), T0 + timedelta(hours=4))]
    assert cover.hours == [(T0 + timedelta(hours=4), T0 + timedelta(days=1)),
                           (T0 + timedelta(days=365), T0 + timedelta(days=365, hours=3))]
    assert cover.days == [(T0 + timedelta(days=1), T0 + timedelta(days=365))]
    period = Period("custom", date(2026, 3, 1), date(2027, 2, 28), KYIV)
    # By week in Kyiv: only the UTC days holding a Monday's local midnight are read by hour.
    weekly = Cover.of(period.start, period.end, cuts=_cuts(period, "week"))
    whole_days = sum((high - low).days for low, high in weekly.days)
    assert whole_days >= 365 - 54 and not weekly.raw
    assert sum((high - low) / timedelta(hours=1) for low, high in weekly.hours) < 54 * 24
    with django_assert_max_num_queries(12):
        rows = series(partner_id=alice.pk, period=period)
    assert sum(r.figures.clicks for r in rows) == 53
    assert ClickDayRollup.objects.filter(partner=alice, dimension="").count() == 53


def test_a_day_holding_a_changed_hour_is_read_by_hour_and_that_hour_raw():
    """An hour holding an exchange changed since the rollups' round (dirty) is read from the
    raw table; the rest of its UTC day from hourly rows, every other day from its day row."""
    dirty = T0 + timedelta(days=2, hours=13)
    cover = Cover.of(T0, T0 + timedelta(days=5), dirty=[dirty])
    assert cover.days == [(T0, T0 + timedelta(days=2)),
                          (T0 + timedelta(days=3), T0 + timedelta(days=5))]
    assert cover.hours == [(T0 + timedelta(days=2), dirty),
                           (dirty + timedelta(hours=1), T0 + timedelta(days=3))]
    assert cover.raw == [(dirty, dirty + timedelta(hours=1))]
