"""Statistics agree with the raw rows whatever changed them: backdated inserts, bulk updates
that leave `updated_at` alone, moves to another partner or hour, deletions, status flips; the
triggers mark what changed, the rounds rebuild it, the reconciler repairs what nothing marked,
and `obmin stats rebuild` rebuilds on demand."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from obmin.exchange.models import Exchange, ExchangeStatus
from obmin.lib import metrics
from obmin.lib.money import quantize
from obmin.partners.models import Click, ClickDay
from obmin.stats.models import (
    ClickDayRollup,
    ClickRollup,
    ExchangeDayRollup,
    ExchangeRollup,
    RollupState,
    StaleHour,
)
from obmin.stats.periods import Period
from obmin.stats.selectors import ZERO, breakdown, figures, partner_figures, series
from obmin.stats.services import (
    clicks_roll_up,
    exchanges_roll_up,
    rollups_rebuild,
    rollups_reconcile,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
WINDOW_DAYS = 3
ZONES = [UTC, ZoneInfo("Asia/Kolkata"),  # +05:30
         ZoneInfo("America/St_Johns")]  # -03:30


def add_click(partner, moment, **fields):
    defaults = {"uid": uuid.uuid4(), "browser": "Chrome 120", "ip": "203.0.113.0",
                "is_unique": True}
    return Click.objects.create(partner=partner, created_at=moment, **{**defaults, **fields})


def add_exchange(partner, direction, moment, *, success, reward, amount, sub1):
    return Exchange.objects.create(
        direction=direction, currency_give=direction.currency_give,
        currency_get=direction.currency_get, rate_give=1, rate_get=1, amount_give=amount,
        amount_get=amount, usd_price_give=Decimal("1.25"), email="c@example.org",
        account_get="acc", partner=partner,
        status=ExchangeStatus.SUCCESS if success else ExchangeStatus.NEW,
        partner_reward=reward, reward_accrued=success and bool(reward), sub1=sub1,
        created_at=moment, updated_at=moment)  # backdated: updated when it happened


class Rows:
    """The raw rows, read once: what every figure must equal."""

    def __init__(self):
        self.clicks = list(Click.objects.filter(is_bot=False))
        self.exchanges = list(Exchange.objects.exclude(partner=None))

    def figures(self, partner_ids, start, end, sub1=None):
        """(clicks, unique, exchanges, successful, turnover, rewards) of the rows."""
        clicks = [c for c in self.clicks if c.partner_id in partner_ids
                  and start <= c.created_at < end and sub1 in (None, c.sub1)]
        exchanges = [e for e in self.exchanges if e.partner_id in partner_ids
                     and start <= e.created_at < end and sub1 in (None, e.sub1)]
        ok = [e for e in exchanges if e.status == ExchangeStatus.SUCCESS]
        return (len(clicks), sum(c.is_unique for c in clicks), len(exchanges), len(ok),
                quantize(sum((e.amount_give * e.usd_price_give for e in ok), ZERO), 2),
                quantize(sum((e.partner_reward for e in exchanges if e.reward_accrued), ZERO),
                         2))


def served(f):
    return (f.clicks, f.unique_clicks, f.exchanges, f.successful, f.turnover, f.rewards)


def assert_statistics_equal_the_rows(partners):
    """Every figure the cabinet, the overview and the admin read, in every zone."""
    rows = Rows()
    ids = [p.pk for p in partners]
    for zone in ZONES:
        period = Period("custom", date(2026, 2, 28), date(2026, 3, 4), zone)
        overview = partner_figures(start=period.start, end=period.end)
        for partner in partners:
            want = rows.figures([partner.pk], period.start, period.end)
            assert served(figures(partner_id=partner.pk, start=period.start,
                                  end=period.end)) == want, zone
            assert served(overview[partner.pk]) == want, zone
            for row in series(partner_id=partner.pk, period=period):
                day = Period("custom", row.day, row.day, zone)
                assert served(row.figures) == rows.figures([partner.pk], day.start, day.end)
            for row in breakdown(partner_id=partner.pk, dimension="sub1", period=period):
                assert served(row.figures) == rows.figures([partner.pk], period.start,
                                                           period.end, sub1=row.key)
        program = figures(partner_id=None, start=period.start, end=period.end)
        assert served(program) == rows.figures(ids, period.start, period.end)


def assert_rollups_equal_the_rows():
    """Rebuilding from the raw rows finds nothing to rewrite."""
    done = rollups_rebuild(since=T0.date() - timedelta(days=3), now=T0 + timedelta(days=3))
    assert (done.click_hours, done.exchange_hours) == (0, 0)


moments = st.integers(min_value=0, max_value=WINDOW_DAYS * 86400 - 1).map(
    lambda s: T0 + timedelta(seconds=s))
picks = st.integers(min_value=0, max_value=10_000)


class StatisticsMachine(RuleBasedStateMachine):
    """Random changes to clicks and exchanges, by every path a write can take; after each
    worker round every statistic equals the raw rows' figure, and so do the rollups."""

    partners: list = []
    direction = None

    def __init__(self) -> None:
        super().__init__()
        for model in (Click, Exchange, ClickRollup, ClickDayRollup, ExchangeRollup,
                      ExchangeDayRollup, RollupState, StaleHour):
            model.objects.all().delete()
        clicks_roll_up(settle=False)
        exchanges_roll_up(settle=False)

    def _pick(self, model, n):
        ids = list(model.objects.order_by("id").values_list("id", flat=True))
        return ids[n % len(ids)] if ids else None

    @rule(moment=moments, partner=st.integers(0, 1), bot=st.booleans(), unique=st.booleans(),
          sub1=st.sampled_from(["", "a", "b"]))
    def click_arrives(self, moment, partner, bot, unique, sub1):
        """A click, late from the spool or backdated: with its own past time."""
        add_click(self.partners[partner], moment, is_bot=bot, is_unique=unique, sub1=sub1)

    @rule(moment=moments, partner=st.integers(0, 1), success=st.booleans(),
          reward=st.sampled_from([Decimal(0), Decimal("1.5")]), amount=st.integers(1, 500),
          sub1=st.sampled_from(["", "a"]))
    def exchange_imported(self, moment, partner, success, reward, amount, sub1):
        add_exchange(self.partners[partner], self.direction, moment, success=success,
                     reward=reward, amount=amount, sub1=sub1)

    @rule(n=picks)
    def exchange_status_flipped_in_bulk(self, n):
        """A bulk update that leaves `updated_at` alone."""
        pk = self._pick(Exchange, n)
        if pk is not None:
            row = Exchange.objects.get(pk=pk)
            success = row.status != ExchangeStatus.SUCCESS
            Exchange.objects.filter(pk=pk).update(
                status=ExchangeStatus.SUCCESS if success else ExchangeStatus.CANCELLED,
                reward_accrued=success and bool(row.partner_reward))

    @rule(n=picks, shift=st.integers(-30, 30))
    def exchange_moved(self, n, shift):
        """To the other partner, and (a correction of its time) to another hour."""
        pk = self._pick(Exchange, n)
        if pk is not None:
            row = Exchange.objects.get(pk=pk)
            other = next(p for p in self.partners if p.pk != row.partner_id)
            Exchange.objects.filter(pk=pk).update(
                partner=other, created_at=row.created_at + timedelta(hours=shift))

    @rule(n=picks)
    def exchange_deleted(self, n):
        pk = self._pick(Exchange, n)
        if pk is not None:
            Exchange.objects.filter(pk=pk).delete()

    @rule(n=picks)
    def click_changed_in_bulk(self, n):
        """Marked a crawler after the fact, or moved to the other partner."""
        pk = self._pick(Click, n)
        if pk is not None:
            row = Click.objects.get(pk=pk)
            if n % 2:
                Click.objects.filter(pk=pk).update(is_bot=not row.is_bot)
            else:
                other = next(p for p in self.partners if p.pk != row.partner_id)
                Click.objects.filter(pk=pk).update(partner=other, sub1="b")

    @rule(n=picks)
    def click_deleted(self, n):
        pk = self._pick(Click, n)
        if pk is not None:
            Click.objects.filter(pk=pk).delete()

    @rule()
    def worker_round(self):
        """The worker's rounds, as it runs them (settling new ids over two rounds)."""
        clicks_roll_up()
        exchanges_roll_up()
        assert_statistics_equal_the_rows(self.partners)
        assert_rollups_equal_the_rows()

    @invariant()
    def statistics_are_right_between_rounds_too(self):
        # The hours a write marked are read raw until a round rebuilds them.
        program = figures(partner_id=None, start=T0, end=T0 + timedelta(days=WINDOW_DAYS))
        assert served(program) == Rows().figures([p.pk for p in self.partners], T0,
                                                 T0 + timedelta(days=WINDOW_DAYS))


@pytest.mark.django_db
def test_statistics_agree_with_the_rows_whatever_changes_them(alice, bob, pm_usdt):
    StatisticsMachine.partners = [alice, bob]
    StatisticsMachine.direction = pm_usdt
    run_state_machine_as_test(StatisticsMachine, settings=settings(
        max_examples=6, stateful_step_count=8, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))


# --- the triggers, the reconciler, the command ----------------------------------------------


@pytest.mark.django_db
def test_a_bulk_update_marks_both_hours_and_a_round_clears_the_marks(alice, bob, pm_usdt):
    row = add_exchange(alice, pm_usdt, T0 + timedelta(minutes=10), success=True,
                       reward=Decimal(1), amount=10, sub1="")
    exchanges_roll_up(settle=False)
    assert not StaleHour.objects.exists()
    Exchange.objects.filter(pk=row.pk).update(partner=bob, created_at=T0 + timedelta(hours=5))
    assert sorted(StaleHour.objects.values_list("source", "hour")) == [
        ("exchanges", T0), ("exchanges", T0 + timedelta(hours=5))]
    assert figures(partner_id=bob.pk, start=T0, end=T0 + timedelta(days=1)).exchanges == 1
    exchanges_roll_up()  # the worker's round rebuilds them, and clears them a round later
    assert ExchangeRollup.objects.get(dimension="", hour=T0 + timedelta(hours=5)).partner == bob
    assert StaleHour.objects.exists()
    exchanges_roll_up()
    assert not StaleHour.objects.exists()
    clicked = add_click(alice, T0)
    clicks_roll_up(settle=False)
    Click.objects.filter(pk=clicked.pk).delete()
    assert list(StaleHour.objects.values_list("source", flat=True)) == ["clicks"]


@pytest.mark.django_db
def test_an_archived_day_keeps_its_rollups_when_its_clicks_go(alice):
    add_click(alice, T0 + timedelta(hours=3))
    clicks_roll_up(settle=False)
    # As `obmin clicks archive` does: the day's total, its clicks deleted, one transaction.
    ClickDay.objects.create(partner=alice, day=T0.date(), clicks=1, unique_clicks=1)
    Click.objects.filter(partner=alice).delete()
    assert figures(partner_id=alice.pk, start=T0, end=T0 + timedelta(days=1)).clicks == 1
    clicks_roll_up(settle=False)
    assert rollups_reconcile(now=T0 + timedelta(hours=5)) == 0
    assert figures(partner_id=alice.pk, start=T0, end=T0 + timedelta(days=1)).clicks == 1


def _without_triggers():
    """As if a write came by a path no trigger sees (a restored backup, triggers dropped)."""
    with connection.cursor() as cursor:
        for source in ("exchanges", "clicks"):
            for event in ("insert", "update", "delete"):
                table = "exchange_exchange" if source == "exchanges" else "partners_click"
                on = f" ON {table}" if connection.vendor == "postgresql" else ""
                cursor.execute(f"DROP TRIGGER IF EXISTS stats_stale_{source}_{event}{on}")


@pytest.mark.django_db
def test_the_reconciler_repairs_what_no_trigger_saw_and_counts_it(alice, pm_usdt):
    now = T0 + timedelta(days=2, hours=10, minutes=7)
    recent = add_exchange(alice, pm_usdt, now - timedelta(hours=2), success=False,
                          reward=Decimal(0), amount=10, sub1="")
    add_click(alice, now - timedelta(hours=1))
    clicks_roll_up(settle=False)
    exchanges_roll_up(settle=False)
    metrics.push()
    before = metrics.totals()
    _without_triggers()
    Exchange.objects.filter(pk=recent.pk).update(status=ExchangeStatus.SUCCESS)
    Click.objects.filter(partner=alice).update(is_bot=True)
    assert not StaleHour.objects.exists()
    assert figures(partner_id=alice.pk, start=T0, end=now).successful == 0  # stale
    assert rollups_reconcile(now=now, rng=random.Random(1)) == 2  # an hour of each
    assert served(figures(partner_id=alice.pk, start=T0, end=now + timedelta(hours=1))) == (
        0, 0, 1, 1, Decimal("12.50"), ZERO)
    counted = metrics.totals()
    for source in ("clicks", "exchanges"):
        key = ("obmin_rollup_repairs", (("source", source),))
        assert counted.get(key, 0) - before.get(key, 0) == 1
    assert rollups_reconcile(now=now, rng=random.Random(1)) == 0


@pytest.mark.django_db
def test_the_reconciler_samples_older_hours(alice, pm_usdt):
    """An old hour is found by the sample: over enough rounds, every hour is looked at."""
    now = T0 + timedelta(days=30)
    old = add_exchange(alice, pm_usdt, T0 + timedelta(hours=7), success=False,
                       reward=Decimal(0), amount=10, sub1="")
    exchanges_roll_up(settle=False)
    _without_triggers()
    Exchange.objects.filter(pk=old.pk).delete()
    rng = random.Random(5)
    rounds = 0
    while ExchangeRollup.objects.exists():
        rollups_reconcile(now=now, rng=rng, sampled_hours=1000)
        rounds += 1
        assert rounds < 100
    assert figures(partner_id=alice.pk, start=T0, end=now).exchanges == 0


@pytest.mark.django_db
def test_stats_rebuild_command(alice, pm_usdt):
    add_exchange(alice, pm_usdt, T0, success=True, reward=Decimal(1), amount=10, sub1="")
    add_click(alice, T0)
    out = StringIO()
    call_command("stats", "rebuild", stdout=out)
    assert out.getvalue().splitlines()[-1] == (
        "Rebuilt every rollup: 12 hourly click rows and 11 hourly exchange rows written.")
    _without_triggers()
    Exchange.objects.update(status=ExchangeStatus.CANCELLED)
    out = StringIO()
    call_command("stats", "rebuild", "--since", "2026-03-01", stdout=out)
    assert out.getvalue().splitlines()[-1] == (
        "Rebuilt the rollups since 2026-03-01: 0 click hours and 1 exchange hours differed "
        "from the raw rows and were rewritten.")
    assert ExchangeRollup.objects.get(dimension="").successful == 0
    with pytest.raises(Exception, match="YYYY-MM-DD"):
        call_command("stats", "rebuild", "--since", "March")
