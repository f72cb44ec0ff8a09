"""A small market for the sync's tests: Binance, Kraken and the NBU answering through respx
(recorded answers whose prices and times a test moves), and BTC → CARDUAH priced by them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import httpx
import pytest
import respx

from obmin.monitoring import polls, snapshot
from obmin.monitoring.tests import conftest as export_fixtures
from obmin.rates.models import MarketRate, RateSource
from obmin.testing.factories import CurrencyFactory, DirectionFactory

RECORDED = Path(__file__).parent / "recorded"
START = datetime(2026, 12, 3, 11, 0, 5, tzinfo=UTC)
# Two crypto venues' median in USDT times the NBU's UAH for a dollar, less 1.5%.
CROSS_RATE = ("round(margin(median([binance:BTCUSDT:bid], [kraken:XBTUSDT:bid]) "
              "* [nbu:USD:last], 1.5), 2)")

monitor = export_fixtures.monitor


@pytest.fixture(autouse=True)
def _clean_export_state():
    snapshot._memo = None
    polls.reset()
    yield
    snapshot._memo = None


@dataclass
class Market:
    """What each venue answers now: a price, the venue's clock (None: the time it is asked),
    or a failure (an HTTP status, or "timeout")."""

    binance: Decimal = Decimal("94500")
    kraken: Decimal = Decimal("94600")
    nbu: Decimal = Decimal("41.8")
    binance_time: datetime | None = None
    failing: dict[str, str] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    def answer(self, venue: str, request: httpx.Request) -> httpx.Response:
        from django.utils import timezone

        self.calls[venue] = self.calls.get(venue, 0) + 1
        failure = self.failing.get(venue)
        if failure == "timeout":
            raise httpx.ReadTimeout("slow", request=request)
        if failure:
            return httpx.Response(int(failure))
        now = timezone.now()
        if venue == "binance":
            data = json.loads((RECORDED / "binance_ticker.json").read_text())
            moment = self.binance_time or now
            data.update(bidPrice=str(self.binance), askPrice=str(self.binance + 1),
                        lastPrice=str(self.binance), closeTime=int(moment.timestamp() * 1000))
        elif venue == "kraken":
            data = json.loads((RECORDED / "kraken_ticker.json").read_text())
            item = data["result"]["XBTUSDT"]
            item["b"][0], item["a"][0], item["c"][0] = (str(self.kraken),
                                                        str(self.kraken + 1),
                                                        str(self.kraken))
        else:
            data = json.loads((RECORDED / "nbu_exchange.json").read_text())
            data[1]["rate"] = str(self.nbu)
            data[1]["exchangedate"] = now.strftime("%d.%m.%Y")
        return httpx.Response(200, json=data)


@pytest.fixture
def market():
    state = Market()
    with respx.mock(assert_all_called=False) as mock:
        for venue, host in (("binance", "api.binance.com"), ("kraken", "api.kraken.com"),
                            ("nbu", "bank.gov.ua")):
            mock.route(host=host).mock(side_effect=lambda request, v=venue: state.answer(v,
                                                                                        request))
        yield state


@pytest.fixture
def sources(db):
    crypto = {"interval_seconds": 10, "max_age_seconds": 60, "is_enabled": True}
    return {
        "binance": RateSource.objects.create(name="binance", venue="binance", **crypto),
        "kraken": RateSource.objects.create(name="kraken", venue="kraken", **crypto),
        # A central bank publishes once a day; its rate holds for two.
        "nbu": RateSource.objects.create(name="nbu", venue="nbu", interval_seconds=600,
                                         max_age_seconds=2 * 86400, is_enabled=True),
    }


@pytest.fixture
def btc_uah(db, sources):
    btc = CurrencyFactory(code="BTC", title="Bitcoin", decimals=8, reserve=Decimal("3"))
    uah = CurrencyFactory(code="CARDUAH", title="Card UAH", decimals=2,
                          reserve=Decimal("9000000"))
    direction = DirectionFactory(currency_give=btc, currency_get=uah, rate_give=Decimal(1),
                                 rate_get=Decimal("3900000"), min_amount=Decimal("0.001"),
                                 max_amount=Decimal(2))
    MarketRate.objects.create(direction=direction, formula=CROSS_RATE, max_jump_percent=5,
                              max_spread_percent=2)
    return direction


def expected_rate(binance: Decimal, kraken: Decimal | None, nbu: Decimal) -> Decimal:
    middle = binance if kraken is None else (binance + kraken) / 2
    return (middle * nbu * (1 - Decimal("1.5") / 100)).quantize(Decimal("0.01"), ROUND_HALF_UP)
