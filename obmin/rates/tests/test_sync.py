"""End to end: two venues and a central bank price BTC → CARDUAH through a cross-rate formula
with a margin; the export follows them, and leaves the direction out whenever its rate
cannot be vouched for."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.http import parse_http_date

from obmin.exchange.models import Direction, Exchange
from obmin.exchange.services import ExchangeError, exchange_create
from obmin.monitoring.tests.parse import export, json_items, txt_items, xml_items
from obmin.rates.models import MarketRate, Quote, RateSource
from obmin.rates.services import market_rate_confirm, rates_sync
from obmin.rates.tests.conftest import START, expected_rate

pytestmark = pytest.mark.django_db
KEY = ("BTC", "CARDUAH", "")


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture(autouse=True)
def _operator(settings):
    settings.OPERATOR_EMAIL = "ops@obmin.example"


@pytest.fixture
def sync(django_capture_on_commit_callbacks):
    """One round of the sync, its e-mails sent as on a real commit."""
    def run() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return rates_sync()
    return run


def exported(client) -> dict:
    response = export(client, "xml", "bestmon1")
    assert response.status_code == 200
    return xml_items(response.content)


def advance(clock, seconds: float) -> None:
    clock.shift(timedelta(seconds=seconds))


def test_the_cross_rate_reaches_the_export_and_follows_the_market(sync, client, clock, market,
                                                                  btc_uah, monitor):
    assert sync() == 3 + 1  # three sources polled, one direction changed
    rate = expected_rate(market.binance, market.kraken, market.nbu)
    item = exported(client)[KEY]
    assert item["in"] == "1" and Decimal(item["out"]) == rate
    direction = Direction.objects.get(pk=btc_uah.pk)
    assert (direction.rate_give, direction.rate_get) == (1, rate)
    assert direction.rate_hidden_reason == ""
    # Every format lists it (the contract's TXT and JSON twins).
    assert KEY in json_items(export(client, "json", "bestmon1").content)
    assert KEY in txt_items(export(client, "txt", "bestmon1").content)

    market.binance, market.kraken = Decimal("95000"), Decimal("95100")
    advance(clock, 11)
    sync()
    assert Decimal(exported(client)[KEY]["out"]) == expected_rate(market.binance,
                                                                  market.kraken, market.nbu)
    assert mail.outbox == []  # nothing went wrong


def test_stale_venues_leave_the_export_and_come_back(sync, client, clock, market, btc_uah, monitor):
    sync()
    assert KEY in exported(client)

    # Binance's answers stop moving (its own clock says they are from the start).
    market.binance_time = START
    advance(clock, 61)
    sync()
    items = exported(client)
    assert KEY in items, "one venue stale: the median holds on the other"
    assert Decimal(items[KEY]["out"]) == expected_rate(market.kraken, None, market.nbu)

    # Kraken stops answering too; its last quote ages past its maximum.
    market.failing["kraken"] = "timeout"
    advance(clock, 11)
    sync()
    direction = Direction.objects.get(pk=btc_uah.pk)
    assert ("binance:BTCUSDT:bid is past its maximum age of 60 s (taken 2026-12-03 11:00:05 "
            "UTC)") in direction.rate_hidden_reason
    assert "source kraken failed: no answer within 5 s" in direction.rate_hidden_reason
    response = export(client, "xml", "bestmon1")
    assert xml_items(response.content) == {}, "every direction out: a valid empty document"
    assert response.content.endswith(b"<rates>\n</rates>\n")
    assert export(client, "json", "bestmon1").content == b'{"rates":[]}'
    assert export(client, "txt", "bestmon1").content == b""
    # Nor do the customer's pages show its last rate.
    assert "CARDUAH" not in client.get("/").content.decode()
    assert '"to": "CARDUAH"' not in client.get("/exchange/").content.decode()
    with pytest.raises(ExchangeError, match="being updated"):
        exchange_create(direction=direction, amount_give=Decimal("0.01"),
                        email="c@example.com", account_get="4111111111111111")
    assert Exchange.objects.count() == 0
    (alert,) = mail.outbox
    assert alert.to == ["ops@obmin.example"]
    assert "BTC → CARDUAH" in alert.body and "no answer within 5 s" in alert.body

    # Both recover: the direction returns by itself, and the operator hears of it.
    market.binance_time = None
    market.failing.clear()
    advance(clock, 11)
    sync()
    assert KEY in exported(client)
    assert Direction.objects.get(pk=btc_uah.pk).rate_hidden_reason == ""
    assert "Back in the export" in mail.outbox[-1].body


def test_a_jump_waits_for_the_operator(sync, client, clock, market, btc_uah, monitor):
    sync()
    before = exported(client)[KEY]["out"]
    market.binance, market.kraken = Decimal("104000"), Decimal("104100")  # +10%
    advance(clock, 11)
    sync()
    assert KEY not in exported(client)
    market_rate = MarketRate.objects.get(direction=btc_uah)
    assert market_rate.problem.startswith("the rate jumped 10.05% (from 3892907.15 to ")
    assert "confirmation" in mail.outbox[-1].body
    # Sound quotes alone do not bring it back.
    advance(clock, 11)
    sync()
    assert KEY not in exported(client)
    assert Direction.objects.get(pk=btc_uah.pk).rate_get == Decimal(before)

    market_rate_confirm(market_rate_id=market_rate.pk, actor="carol")
    assert Decimal(exported(client)[KEY]["out"]) == expected_rate(market.binance,
                                                                  market.kraken, market.nbu)


def test_venues_disagreeing_beyond_the_spread_hide_the_direction(sync, client, clock, market,
                                                                  btc_uah, monitor):
    market.kraken = market.binance * Decimal("1.03")
    sync()
    assert KEY not in exported(client)
    assert "venues disagree by 2.96%" in Direction.objects.get(pk=btc_uah.pk).rate_hidden_reason


def test_the_export_drops_a_rate_whose_inputs_age_even_without_a_sync(sync, client, clock, market,
                                                                      btc_uah, monitor):
    """The worker may stall; the export itself never serves quotes past their maximum age."""
    sync()
    assert KEY in exported(client)
    advance(clock, 59)
    assert KEY in exported(client)
    advance(clock, 2)
    assert KEY not in exported(client)
    with pytest.raises(ExchangeError):
        exchange_create(direction=btc_uah, amount_give=Decimal("0.01"),
                        email="c@example.com", account_get="4111111111111111")


def test_last_modified_is_the_oldest_input(sync, client, clock, market, btc_uah, monitor):
    sync()
    response = export(client, "xml", "bestmon1")
    # The NBU's rate is of today (its date, midnight): the oldest input.
    assert parse_http_date(response["Last-Modified"]) == int(
        START.replace(hour=0, minute=0, second=0).timestamp())
    # A conditional request with the ETag still earns a 304.
    again = export(client, "xml", "bestmon1", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_a_failing_source_is_polled_on_its_interval_and_429_backs_off(sync, clock, market, btc_uah):
    sync()
    assert market.calls == {"binance": 1, "kraken": 1, "nbu": 1}
    advance(clock, 5)
    sync()  # nothing is due yet
    assert market.calls == {"binance": 1, "kraken": 1, "nbu": 1}
    market.failing["binance"] = "429"
    advance(clock, 6)
    sync()
    binance = RateSource.objects.get(name="binance")
    assert binance.last_error.startswith("HTTP 429")
    assert binance.next_poll_at == binance.last_attempt_at + timedelta(seconds=60)
    advance(clock, 11)
    sync()
    assert market.calls["binance"] == 2 and market.calls["kraken"] == 3


def test_a_venue_clock_ahead_is_taken_at_our_time(sync, clock, market, btc_uah):
    market.binance_time = START + timedelta(seconds=20)  # within the venue's tolerance
    sync()
    quote = Quote.objects.get(symbol="BTCUSDT")
    assert quote.venue_time == START + timedelta(seconds=20)
    assert quote.taken_at == quote.fetched_at == START
    assert quote.problem == ""

    # Hours ahead: the quote cannot say how old it is; the median holds on Kraken.
    market.binance_time = START + timedelta(hours=2)
    advance(clock, 11)
    sync()
    quote.refresh_from_db()
    assert quote.problem == "the venue's clock is 7189 s ahead of ours"
    direction = Direction.objects.get(pk=btc_uah.pk)
    assert direction.rate_hidden_reason == ""
    assert direction.rate_get == expected_rate(market.kraken, None, market.nbu)


def test_a_floating_direction_is_marked_and_holds_the_rate(sync, client, clock, market, btc_uah,
                                                          monitor):
    Direction.objects.filter(pk=btc_uah.pk).update(rate_hold_minutes=15)
    sync()
    assert exported(client)[KEY]["param"] == "floating"
    exchange = exchange_create(direction=Direction.objects.get(pk=btc_uah.pk),
                               amount_give=Decimal("0.01"), email="c@example.com",
                               account_get="4111111111111111")
    assert exchange.rate_held_until == START + timedelta(minutes=15)


def test_manual_directions_are_untouched(sync, client, clock, market, btc_uah, monitor, pm_btc):
    market_rate = MarketRate.objects.get(direction=btc_uah)
    market_rate.is_enabled = False
    market_rate.save()  # the direction's own rate again, shown as before
    sync()
    assert market.calls == {}
    assert set(exported(client)) == {("PMUSD", "BTC", ""), KEY}


def test_obmin_rates_sync_and_explain(capsys, clock, market, btc_uah):
    call_command("rates", "sync")
    out = capsys.readouterr().out
    assert "binance: ok" in out and "BTC → CARDUAH: ok" in out
    call_command("rates", "explain", "BTC-CARDUAH")
    out = capsys.readouterr().out
    assert "[binance:BTCUSDT:bid] = 94500  (0 s old)" in out
    assert "[nbu:USD:last] = 41.8  (39605 s old)" in out
    assert f"offered: {expected_rate(market.binance, market.kraken, market.nbu)}" in out
    market.failing["kraken"] = "503"
    with pytest.raises(CommandError, match=r"^rates sync: 1 source failed: kraken \(HTTP 503\)$"):
        call_command("rates", "sync")
    call_command("rates", "explain", str(btc_uah.pk))
    out = capsys.readouterr().out
    assert "!! source kraken failed: HTTP 503" in out


def test_explain_shows_a_formula_kept_but_not_followed(capsys, clock, market, btc_uah):
    """The demo's example formulas are off: explain still shows what one would give."""
    call_command("rates", "sync")
    MarketRate.objects.filter(direction=btc_uah).update(is_enabled=False)
    capsys.readouterr()
    call_command("rates", "explain", "BTC-CARDUAH")
    out = capsys.readouterr().out
    assert "manual rate: " in out
    assert "formula, not followed: " in out and "formula: " not in out
    assert "[binance:BTCUSDT:bid] = 94500" in out
    assert "it would offer: " in out and "offered: " not in out


def test_the_exchange_page_says_the_rate_floats(sync, client, clock, market, btc_uah):
    Direction.objects.filter(pk=btc_uah.pk).update(rate_hold_minutes=15)
    sync()
    exchange = exchange_create(direction=Direction.objects.get(pk=btc_uah.pk),
                               amount_give=Decimal("0.01"), email="c@example.com",
                               account_get="4111111111111111")
    html = client.get(f"/exchange/{exchange.token}/").content.decode()
    assert "follows the market (floating): it is held for you until 2026-12-03 11:15 UTC" in html


def test_a_round_that_changes_nothing_writes_nothing(sync, clock, market, btc_uah):
    """The worker runs a round every 2 s: one read of the quotes, and no row written when no
    rate, reason or confirmation changed."""
    sync()
    advance(clock, 5)  # nothing due, the quotes still fresh
    with CaptureQueriesContext(connection) as queries:
        assert sync() == 0
    statements = [q["sql"] for q in queries.captured_queries]
    assert [s for s in statements if s.startswith(("UPDATE", "INSERT", "DELETE"))] == []
    assert len([s for s in statements if 'FROM "rates_quote"' in s]) == 1


def test_a_jump_confirmed_while_a_round_computes_stays_confirmed(sync, client, clock, market,
                                                                 btc_uah, monitor, monkeypatch):
    from obmin.rates import services

    sync()
    market.binance, market.kraken = Decimal("104000"), Decimal("104100")  # +10%
    advance(clock, 11)
    sync()
    market_rate = MarketRate.objects.get(direction=btc_uah)
    assert market_rate.pending_rate is not None
    judge = services.market_rate_judge
    confirmed = []

    def operator_confirms_meanwhile(market_state, result):
        verdict = judge(market_state, result)  # from the state read before the confirmation
        if not confirmed:
            confirmed.append(True)  # before: the confirmation's own recompute judges too
            market_rate_confirm(market_rate_id=market_rate.pk, actor="carol")
        return verdict

    monkeypatch.setattr(services, "market_rate_judge", operator_confirms_meanwhile)
    advance(clock, 11)
    sync()
    monkeypatch.undo()
    market_rate.refresh_from_db()
    assert market_rate.pending_rate is None, "the round undid the operator's confirmation"
    # Offered at once, not hidden again by the racing round's stale outcome.
    assert KEY in exported(client), "the round hid the confirmed direction again"
    assert Decimal(exported(client)[KEY]["out"]) == expected_rate(market.binance,
                                                                  market.kraken, market.nbu)


@pytest.mark.parametrize("move", [("95000", "95100"),  # within the threshold: a new rate
                                  ("104000", "104100")])  # +10%: a jump, hidden
def test_a_formula_switched_off_while_a_round_computes_stays_off(sync, client, clock, market,
                                                                 btc_uah, monitor, monkeypatch,
                                                                 move):
    """Switched-off formulas are never recomputed: a stale outcome written after the
    switch would keep the direction hidden, or drop it when its valid_until passes."""
    from obmin.rates import services

    sync()
    manual = Direction.objects.get(pk=btc_uah.pk)
    market.binance, market.kraken = map(Decimal, move)
    market_rate = MarketRate.objects.get(direction=btc_uah)
    judge = services.market_rate_judge

    def operator_switches_off_meanwhile(market_state, result):
        verdict = judge(market_state, result)  # from the state read before the switch
        if market_rate.is_enabled:
            market_rate.is_enabled = False
            market_rate.save()  # the direction's own rate again, shown as before
        return verdict

    monkeypatch.setattr(services, "market_rate_judge", operator_switches_off_meanwhile)
    advance(clock, 11)
    sync()
    monkeypatch.undo()
    direction = Direction.objects.get(pk=btc_uah.pk)
    assert (direction.rate_give, direction.rate_get) == (manual.rate_give, manual.rate_get)
    assert direction.rate_hidden_reason == ""
    assert direction.rate_valid_until is None
    assert Decimal(exported(client)[KEY]["out"]) == manual.rate_get
    advance(clock, 600)  # past any valid_until a formula's quotes would have given
    assert Decimal(exported(client)[KEY]["out"]) == manual.rate_get


def test_a_direction_hidden_for_old_quotes_is_not_rewritten_every_round(sync, client, clock,
                                                                        market, btc_uah):
    """Its reason names when the quote was taken, not its age now: the rounds between polls
    write nothing (no row, no rates_changed, no export rebuilt every 2 s)."""
    sync()
    market.binance_time = START  # Binance's answers stop moving
    market.failing["kraken"] = "503"
    advance(clock, 61)
    sync()
    direction = Direction.objects.get(pk=btc_uah.pk)
    assert ("binance:BTCUSDT:bid is past its maximum age of 60 s (taken 2026-12-03 11:00:05 "
            "UTC)") in direction.rate_hidden_reason
    advance(clock, 2)  # nothing due
    with CaptureQueriesContext(connection) as queries:
        assert sync() == 0
    assert [q["sql"] for q in queries.captured_queries
            if q["sql"].startswith(("UPDATE", "INSERT", "DELETE"))] == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_ask_a_due_source_once(market, btc_uah, monkeypatch):
    """Every worker runs the sync duty: two rounds at the same moment ask each due venue once
    (a venue's request budget is not spent twice, nor a quote created twice), then neither asks
    again before the source's interval."""
    answer = market.answer

    def slow_answer(venue, request):
        time.sleep(0.3)  # the other worker's round comes while this poll is in flight
        return answer(venue, request)

    monkeypatch.setattr(market, "answer", slow_answer)
    start, failures = threading.Barrier(2), []

    def worker() -> None:
        try:
            start.wait(timeout=10)
            rates_sync()
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            connection.close()

    rounds = [threading.Thread(target=worker) for _ in range(2)]
    for thread in rounds:
        thread.start()
    for thread in rounds:
        thread.join(timeout=30)
    assert failures == []
    assert market.calls == {"binance": 1, "kraken": 1, "nbu": 1}
    assert Quote.objects.count() == 3
    assert all(source.next_poll_at is not None and source.last_success_at is not None
               for source in RateSource.objects.all())
    rates_sync()  # nothing due yet
    assert market.calls == {"binance": 1, "kraken": 1, "nbu": 1}


def test_a_direction_hidden_by_two_workers_rounds_at_once_is_told_once(sync, clock, market,
                                                                       btc_uah, monkeypatch):
    """Both workers recompute every round: the other's round hides the direction and tells
    the operator while this one judges from the state read before; this one tells nobody."""
    from obmin.rates import services

    sync()
    market.binance_time = START
    market.failing["kraken"] = "timeout"
    advance(clock, 72)
    judge = services.market_rate_judge
    other_round = []

    def other_worker_meanwhile(market_state, result):
        verdict = judge(market_state, result)
        if not other_round:
            other_round.append(True)
            rates_sync()  # the other worker's whole round (its e-mail sent with this one's)
        return verdict

    monkeypatch.setattr(services, "market_rate_judge", other_worker_meanwhile)
    sync()
    assert Direction.objects.get(pk=btc_uah.pk).rate_hidden_reason
    assert [m.subject for m in mail.outbox] == ["Market rates: 1 direction(s) hidden"]


def test_obmin_rates_sync_exits_non_zero_naming_the_failing_sources(capsys, clock, market,
                                                                    btc_uah, monitor, client,
                                                                    monkeypatch):
    """Cron scripts read the exit code: a source an enabled formula reads that failed this
    round makes `obmin rates sync` end non-zero with one line naming it, after doing the work
    that could be done (the other sources polled, the direction priced on them)."""
    import django
    from django.core.management import base, execute_from_command_line

    # The command line's own path (run_from_argv), except closing the test's database after
    # and setting Django up again: that would bind the logging handlers to this test's
    # captured stderr, closed when it ends, and break every later test that logs.
    monkeypatch.setattr(base.connections, "close_all", lambda: None)
    monkeypatch.setattr(django, "setup", lambda *args, **kwargs: None)

    market.failing["kraken"] = "503"
    with pytest.raises(SystemExit) as ended:
        execute_from_command_line(["obmin", "rates", "sync"])
    assert ended.value.code == 1
    out, err = capsys.readouterr()
    # The reason is the last line (the log's warnings go to stderr before it).
    assert err.splitlines()[-1] == "CommandError: rates sync: 1 source failed: kraken (HTTP 503)"
    assert "binance: ok" in out and "kraken: error: HTTP 503" in out
    assert "BTC → CARDUAH: ok" in out
    assert Decimal(exported(client)[KEY]["out"]) == expected_rate(market.binance, None,
                                                                  market.nbu)

    # A symbol the venue no longer prices fails the round too, named with its reason.
    market.failing["binance"] = "timeout"
    market.nbu = Decimal(0)
    advance(clock, 11)
    with pytest.raises(SystemExit) as ended:
        execute_from_command_line(["obmin", "rates", "sync"])
    assert ended.value.code == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        "CommandError: rates sync: 3 sources failed: binance (no answer within 5 s); kraken "
        "(HTTP 503); nbu (USD: bid is not positive: 0)")

    market.failing.clear()
    market.nbu = Decimal("41.8")
    advance(clock, 11)
    execute_from_command_line(["obmin", "rates", "sync"])  # no SystemExit: exit status 0
    out, err = capsys.readouterr()
    assert err == "" and "kraken: ok" in out

    # A source no enabled formula reads is not polled, and its old error fails nothing.
    market.failing["kraken"] = "503"
    MarketRate.objects.filter(direction=btc_uah).update(
        formula="round(margin([binance:BTCUSDT:bid] * [nbu:USD:last], 1.5), 2)")
    advance(clock, 11)
    execute_from_command_line(["obmin", "rates", "sync"])
    out, err = capsys.readouterr()
    assert err == "" and "kraken: not polled: no enabled formula reads it" in out


@pytest.mark.parametrize("side", ["get", "give"])
def test_a_formulas_first_rate_is_checked_against_the_manual_rate(sync, client, clock, market,
                                                                  btc_uah, monitor, side):
    """A formula switched on replaces the rate the operator typed: a first rate beyond the
    jump threshold from it waits for the operator's confirmation, out of the export."""
    rate = expected_rate(market.binance, market.kraken, market.nbu)  # 3892907.15
    manual = (Decimal(1), Decimal(3500000)) if side == "get" else (Decimal(3500000), Decimal(1))
    Direction.objects.filter(pk=btc_uah.pk).update(rate_give=manual[0], rate_get=manual[1])
    market_rate = MarketRate.objects.get(direction=btc_uah)
    market_rate.side = side
    market_rate.save()
    sync()
    market_rate.refresh_from_db()
    assert market_rate.accepted_rate is None and market_rate.pending_rate == rate
    assert market_rate.problem == (
        f"the formula's first rate is 11.23% from the manual rate (from 3500000 to {rate}): "
        "waits for the operator's confirmation")
    assert KEY not in exported(client)
    direction = Direction.objects.get(pk=btc_uah.pk)
    assert (direction.rate_give, direction.rate_get) == manual
    (alert,) = mail.outbox
    assert "first rate" in alert.body and "confirmation" in alert.body
    advance(clock, 11)
    sync()
    assert KEY not in exported(client), "sound quotes alone do not bring it in"

    market_rate_confirm(market_rate_id=market_rate.pk, actor="carol")
    item = exported(client)[KEY]
    assert Decimal(item["out" if side == "get" else "in"]) == rate


def test_a_formula_switched_on_again_is_checked_against_the_manual_rate_then(
        sync, client, clock, market, btc_uah, monitor):
    sync()
    market_rate = MarketRate.objects.get(direction=btc_uah)
    assert market_rate.accepted_rate == expected_rate(market.binance, market.kraken, market.nbu)
    market_rate.is_enabled = False
    market_rate.save()
    # The operator types a rate of their own meanwhile, far from the formula's.
    Direction.objects.filter(pk=btc_uah.pk).update(rate_give=1, rate_get=3500000)
    market_rate.refresh_from_db()
    market_rate.is_enabled = True
    market_rate.save()
    advance(clock, 11)
    sync()
    market_rate.refresh_from_db()
    assert market_rate.problem.startswith("the formula's first rate is 11.23% from the manual "
                                          "rate (from 3500000 to ")
    assert KEY not in exported(client)
