"""The promise to monitors, property-tested: whatever the venues do (move, freeze, fail,
jump) and however time passes between syncs, no exported item is built on a quote older than
its maximum age or on a jump the operator has not confirmed (the first rate's measured from the
manual rate it replaces), and every direction left out names its reason."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obmin.exchange.models import Direction
from obmin.monitoring import snapshot
from obmin.monitoring.tests.parse import export, xml_items
from obmin.rates.models import MarketRate, Quote, RateSource
from obmin.rates.services import rates_sync
from obmin.rates.tests.conftest import START, expected_rate

pytestmark = pytest.mark.django_db
KEY = ("BTC", "CARDUAH", "")
MAX_AGE = 60
MAX_JUMP = Decimal(5)
MANUAL = Decimal(3900000)

venue_action = st.sampled_from(["ok", "ok", "ok", "frozen", "fail"])
steps = st.lists(st.tuples(
    st.integers(0, 45),  # seconds that pass first
    st.booleans(),  # whether the worker syncs then (it may stall)
    venue_action,  # binance: answers, answers with its clock stopped, or fails
    st.sampled_from(["ok", "ok", "fail"]),  # kraken (no venue clock: answers or fails)
    st.sampled_from([Decimal(1), Decimal(1), Decimal("1.003"), Decimal("1.1")]),  # move
), min_size=1, max_size=8)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps)
def test_no_stale_or_unconfirmed_rate_is_ever_exported(client, time_machine, market, btc_uah,
                                                       monitor, steps):
    # A fresh start for each example (the fixtures' rows are shared).
    time_machine.move_to(START, tick=False)
    Quote.objects.all().delete()
    RateSource.objects.update(last_attempt_at=None, last_success_at=None, last_error="",
                              next_poll_at=None)
    MarketRate.objects.update(accepted_rate=None, pending_rate=None, problem="",
                              computed_at=None)
    # The rate the operator typed, which the formula's first rate replaces.
    Direction.objects.filter(pk=btc_uah.pk).update(rate_give=1, rate_get=MANUAL)
    MarketRate.objects.get().save()  # as the operator saves a new formula
    snapshot.export_invalidate()
    market.binance, market.kraken, market.failing = Decimal(94500), Decimal(94600), {}
    market.binance_time = None
    # What each venue last told us: (the time its price was true, price), as we polled it.
    seen: dict[str, tuple] = {}
    # Even the first rate exported is within the threshold of the manual one.
    last_exported = MANUAL

    for seconds, syncs, binance, kraken, move in steps:
        time_machine.shift(timedelta(seconds=seconds))
        now = timezone.now()
        market.binance = (market.binance * move).quantize(Decimal("0.1"))
        market.kraken = (market.kraken * move).quantize(Decimal("0.1"))
        if syncs:
            market.failing = {name: "503" for name, action in (("binance", binance),
                                                              ("kraken", kraken))
                              if action == "fail"}
            if binance == "frozen":
                market.binance_time = market.binance_time or now
            else:
                market.binance_time = None
            rates_sync(force=True)
            for name, action in (("binance", binance), ("kraken", kraken)):
                if action == "fail":
                    seen.pop(name, None)  # a failed source is not used at all
                else:
                    taken = market.binance_time if name == "binance" and market.binance_time \
                        else now
                    seen[name] = (taken, getattr(market, name))
        items = xml_items(export(client, "xml", "bestmon1").content)
        direction = Direction.objects.get(pk=btc_uah.pk)
        if KEY not in items:
            assert direction.rate_withheld(now), "a hidden direction names its reason"
            continue
        exported = Decimal(items[KEY]["out"])
        fresh = {name: price for name, (taken, price) in seen.items()
                 if now < taken + timedelta(seconds=MAX_AGE)}
        candidates = {expected_rate(price, None, market.nbu) for price in fresh.values()}
        if len(fresh) == 2:
            candidates.add(expected_rate(fresh["binance"], fresh["kraken"], market.nbu))
        assert exported in candidates, (
            f"exported {exported} is not built on quotes fresh at {now}: {seen}")
        assert abs(exported - last_exported) / last_exported * 100 <= MAX_JUMP, \
            "a jump was exported without the operator's confirmation"
        last_exported = exported
