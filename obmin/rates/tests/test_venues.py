"""Each venue's adapter on small recorded answers (committed beside these tests, in the shape
each venue's public API documents), served by respx: no test touches the network.

Every venue is tried on a good answer, a timeout, HTTP 429 and 5xx, an answer that is not
JSON (or XML), a zero or negative price, a delisted symbol, and its clock ahead of ours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
import respx

from obmin.rates.models import Quote, RateSource
from obmin.rates.services import source_poll, sources_poll
from obmin.rates.venues import VENUES
from obmin.rates.venues.base import Ticker

RECORDED = Path(__file__).parent / "recorded"


class Case(NamedTuple):
    venue: str
    symbol: str
    answer: str  # recorded file of a good answer
    ticker: Ticker
    bid_text: str  # how the bid is written in it (to make it zero or negative)
    delisted: str  # recorded file of the answer to an unknown symbol
    delisted_status: int
    url: str = ""


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


CASES = [
    Case("binance", "BTCUSDT", "binance_ticker.json",
         Ticker(Decimal("94537.6"), Decimal("94537.61"), Decimal("94537.61"),
                at(1796295599.999)), '"94537.60000000"', "binance_invalid.json", 400),
    Case("bybit", "BTCUSDT", "bybit_ticker.json",
         Ticker(Decimal("94530.1"), Decimal("94530.2"), Decimal("94530.2"), at(1796295600.12)),
         '"94530.1"', "bybit_not_supported.json", 200),
    Case("kraken", "XBTUSDT", "kraken_ticker.json",
         Ticker(Decimal("94539.9"), Decimal("94540"), Decimal("94540"), None),
         '"94539.90000"', "kraken_unknown.json", 200),
    Case("whitebit", "BTC_USDT", "whitebit_ticker.json",
         Ticker(Decimal("94528.35"), Decimal("94531.12"), Decimal("94530"), None),
         '"94528.35"', "whitebit_unknown.json", 422),
    Case("kucoin", "BTC-USDT", "kucoin_level1.json",
         Ticker(Decimal("94533.3"), Decimal("94533.4"), Decimal("94533.4"), at(1796295600.055)),
         '"94533.3"', "kucoin_unknown.json", 200),
    Case("coinbase", "BTC-USD", "coinbase_ticker.json",
         Ticker(Decimal("94535.38"), Decimal("94536.02"), Decimal("94535.99"),
                at(1796295600.031502)), '"94535.38"', "coinbase_not_found.json", 404),
    Case("nbu", "USD", "nbu_exchange.json",
         Ticker(Decimal("41.8234"), Decimal("41.8234"), Decimal("41.8234"),
                datetime(2026, 12, 3, tzinfo=UTC)), "41.8234", "", 200),
    Case("ecb", "USD", "ecb_daily.xml",
         Ticker(Decimal("1.0518"), Decimal("1.0518"), Decimal("1.0518"),
                datetime(2026, 12, 2, tzinfo=UTC)), "'1.0518'", "", 200),
    Case("exchanger", "PMUSD-BTC", "exchanger_export.xml",
         Ticker(Decimal(1) / Decimal("95710.3"), Decimal(1) / Decimal("95710.3"),
                Decimal(1) / Decimal("95710.3"), None), "<in>95710.3</in>", "", 200,
         url="https://rival.example/request-exportxml.xml"),
]
IDS = [case.venue for case in CASES]


def source(case: Case, timeout: str = "2") -> RateSource:
    return RateSource(name=case.venue, venue=case.venue, url=case.url,
                      timeout_seconds=Decimal(timeout))


def recorded(name: str) -> bytes:
    return (RECORDED / name).read_bytes()


def host(case: Case) -> str:
    return httpx.URL(case.url or VENUES[case.venue].url).host


@pytest.fixture
def venue():
    with respx.mock(assert_all_called=True) as mock:
        yield mock


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_recorded_answer_gives_bid_ask_last_and_the_venue_time(venue, case):
    venue.route(host=host(case)).respond(200, content=recorded(case.answer))
    poll = source_poll(source(case), [case.symbol])
    assert poll.error == ""
    assert poll.answer == {case.symbol: case.ticker}
    request = venue.calls.last.request
    assert request.headers["User-Agent"].startswith("obmin-rates/")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_timeout_is_the_sources_error(venue, case):
    venue.route(host=host(case)).mock(side_effect=httpx.ReadTimeout("slow"))
    poll = source_poll(source(case, "1.5"), [case.symbol])
    assert poll.answer == {}
    assert poll.error == "no answer within 1.5 s"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_429_asks_to_come_back_later(venue, case):
    venue.route(host=host(case)).respond(429, headers={"Retry-After": "90"})
    poll = source_poll(source(case), [case.symbol])
    assert "429" in poll.error
    assert poll.retry_after == 90


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_5xx_is_the_sources_error(venue, case):
    venue.route(host=host(case)).respond(503, content=b"<html>maintenance</html>")
    poll = source_poll(source(case), [case.symbol])
    assert poll.error == "HTTP 503"
    assert poll.answer == {}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_malformed_answer_is_the_sources_error(venue, case):
    venue.route(host=host(case)).respond(200, content=b'{"symbol": "BTCUSDT", "bidPr')
    poll = source_poll(source(case), [case.symbol])
    assert poll.answer == {}
    assert poll.error in ("the answer is not JSON", "the answer is not XML")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_an_answer_of_another_shape_is_the_sources_error(venue, case):
    venue.route(host=host(case)).respond(
        200, content=b"<rates/>" if case.answer.endswith(".xml") and case.url else b"{}")
    poll = source_poll(source(case), [case.symbol])
    # Either the venue's error or, for a document without the symbol, "not listed".
    assert poll.error or poll.answer[case.symbol].startswith("not listed")


@pytest.mark.parametrize("price", ["0", "-5"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_zero_or_negative_price_is_that_symbols_problem(venue, case, price):
    content = recorded(case.answer).decode()
    assert case.bid_text in content
    quote = case.bid_text[0] if case.bid_text[0] in "\"'" else ""
    replaced = (f"<in>{price}</in>" if case.bid_text.startswith("<in>")
                else f"{quote}{price}{quote}")
    venue.route(host=host(case)).respond(200, content=content.replace(case.bid_text,
                                                                      replaced).encode())
    poll = source_poll(source(case), [case.symbol])
    assert poll.error == ""
    assert "not positive" in poll.answer[case.symbol]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_delisted_symbol_is_that_symbols_problem(venue, case):
    if case.delisted:
        venue.route(host=host(case)).respond(case.delisted_status,
                                             content=recorded(case.delisted))
        symbol = case.symbol
    else:  # one document for every symbol: ask for one it does not list
        venue.route(host=host(case)).respond(200, content=recorded(case.answer))
        symbol = "GONE-BTC" if case.venue == "exchanger" else "XYZ"
    poll = source_poll(source(case), [symbol])
    assert poll.error == ""
    assert poll.answer[symbol].startswith("not listed")


def test_a_central_banks_zero_rate_is_refused_beside_good_ones(venue):
    venue.route(host="bank.gov.ua").respond(200, content=recorded("nbu_exchange.json"))
    poll = source_poll(RateSource(name="nbu", venue="nbu"), ["EUR", "RUB"])
    assert poll.answer["EUR"] == Ticker(Decimal("43.9912"), Decimal("43.9912"),
                                        Decimal("43.9912"), datetime(2026, 12, 3, tzinfo=UTC))
    assert "not positive" in poll.answer["RUB"]


def test_the_exchanger_export_skips_cash_and_reads_last_modified(venue):
    venue.route(host="rival.example").respond(
        200, content=recorded("exchanger_export.xml"),
        headers={"Last-Modified": "Thu, 03 Dec 2026 10:59:58 GMT"})
    poll = source_poll(RateSource(name="rival", venue="exchanger",
                                  url="https://rival.example/request-exportxml.xml"),
                       ["BTC-USDTTRC20", "USDTTRC20-CASHUAH"])
    assert poll.answer["BTC-USDTTRC20"] == Ticker(
        Decimal("93880.5"), Decimal("93880.5"), Decimal("93880.5"),
        datetime(2026, 12, 3, 10, 59, 58, tzinfo=UTC))
    assert poll.answer["USDTTRC20-CASHUAH"] == "not listed"
    assert str(venue.calls.last.request.url) == "https://rival.example/request-exportxml.xml"


def test_a_venue_clock_ahead_never_makes_a_quote_look_fresher():
    received = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
    ahead = Quote(venue_time=received + timedelta(hours=1), fetched_at=received)
    behind = Quote(venue_time=received - timedelta(seconds=20), fetched_at=received)
    assert ahead.taken_at == received
    assert behind.taken_at == received - timedelta(seconds=20)


def test_every_venue_has_a_recorded_case():
    assert set(VENUES) == set(IDS)


def test_the_timeout_bounds_the_whole_poll_not_each_request(venue):
    """Binance is asked symbol by symbol: five slow answers of 0.4 s each would take 2 s, but
    the source's 1 s is for the whole poll."""
    import time

    def slow(request):
        time.sleep(0.4)
        return httpx.Response(200, content=recorded("binance_ticker.json"))

    venue.route(host="api.binance.com").mock(side_effect=slow)
    started = time.monotonic()
    poll = source_poll(RateSource(name="binance", venue="binance", timeout_seconds=Decimal(1)),
                       ["BTCUSDT", "ETHUSDT", "LTCUSDT", "XRPUSDT", "TRXUSDT"])
    assert time.monotonic() - started < 1.5
    assert poll.error == "no answer within 1 s" and poll.answer == {}
    assert len(venue.calls) == 3  # the fourth was not started: no time was left


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_venue_clock_ahead_of_ours_beyond_its_tolerance_is_not_trusted(venue, time_machine,
                                                                        case):
    """We receive the recorded answer an hour (a crypto venue) or three days (a central
    bank's dated rate) before the time it carries; a venue that sends no time cannot be
    ahead: its quote is taken at our time."""
    stamped = case.ticker.venue_time
    if case.venue == "exchanger":  # its time is the export's Last-Modified
        stamped = datetime(2026, 12, 3, 10, 59, 58, tzinfo=UTC)
    ahead = timedelta(hours=1) + timedelta(seconds=VENUES[case.venue].clock_tolerance_seconds)
    received = (stamped or datetime(2026, 12, 3, 11, tzinfo=UTC)) - ahead
    time_machine.move_to(received, tick=False)
    venue.route(host=host(case)).respond(
        200, content=recorded(case.answer),
        headers={"Last-Modified": "Thu, 03 Dec 2026 10:59:58 GMT"})
    polled = source(case)
    polled.is_enabled = True
    polled.save()
    sources_poll(now=received, wanted={case.venue: {case.symbol}})
    quote = Quote.objects.get(source=polled, symbol=case.symbol)
    assert quote.fetched_at == received and quote.taken_at == received
    if stamped is None:
        assert quote.problem == ""
    else:
        assert quote.venue_time == stamped
        seconds = int(ahead.total_seconds())
        assert quote.problem == f"the venue's clock is {seconds} s ahead of ours"


@pytest.mark.django_db
def test_a_source_asked_for_many_symbols_keeps_within_its_venues_request_budget(venue):
    """Kraken is asked symbol by symbol and allows us 60 requests a minute: five symbols
    polled every second would be 300; the next poll waits until the five are spent."""
    venue.route(host="api.kraken.com").respond(200, content=recorded("kraken_ticker.json"))
    kraken = RateSource.objects.create(name="kraken", venue="kraken", is_enabled=True,
                                       interval_seconds=1)
    symbols = {"XBTUSDT", "ETHUSDT", "XBTUSD", "ETHUSD", "XBTEUR"}
    sources_poll(now=datetime.now(tz=UTC), wanted={"kraken": symbols})
    kraken.refresh_from_db()
    assert len(venue.calls) == 5
    assert kraken.next_poll_at == kraken.last_attempt_at + timedelta(seconds=5)
