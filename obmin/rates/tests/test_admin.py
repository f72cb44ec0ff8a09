"""carol's market-rate pages: formulas refused at save with the reason, sources' health, a
direction's inputs, the jump confirmed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.rates.models import MarketRate, RateSource, ReserveFormula
from obmin.rates.tests.conftest import CROSS_RATE
from obmin.testing.factories import CurrencyFactory, DirectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client, carol):
    client.force_login(carol)
    return client


def form_data(direction, formula):
    return {"direction": direction.pk, "is_enabled": "on", "formula": formula, "side": "get",
            "max_jump_percent": "5", "max_spread_percent": "2"}


@pytest.mark.parametrize(("formula", "error"), [
    ("[binance:BTCUSDT:bid] / (1 - 1)", "Division by zero."),
    ("[bitstamp:BTCUSDT:bid]", "Unknown quote [bitstamp:BTCUSDT:bid]: there is no source"),
    ("[kucoin:BTCUSDT:bid]", "KuCoin writes symbols like BTC-USDT"),
    ("median([binance:BTCUSDT:bid],", "The formula ends too early"),
])
def test_a_formula_that_cannot_compute_is_refused_at_save(operator, sources, formula, error):
    RateSource.objects.create(name="kucoin", venue="kucoin")
    direction = DirectionFactory()
    response = operator.post("/admin/rates/marketrate/add/", form_data(direction, formula))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not MarketRate.objects.exists()


def test_a_good_formula_is_kept_canonical_and_hides_until_its_quotes_arrive(operator,
                                                                            sources):
    direction = DirectionFactory()
    response = operator.post("/admin/rates/marketrate/add/",
                             form_data(direction, CROSS_RATE.replace(", ", ",")))
    assert response.status_code == 302
    market = MarketRate.objects.get()
    assert market.formula == CROSS_RATE
    direction.refresh_from_db()
    assert direction.rate_hidden_reason.startswith("no quote binance:BTCUSDT:bid yet")
    page = operator.get(f"/admin/rates/marketrate/{market.pk}/change/").content.decode()
    assert "[binance:BTCUSDT:bid] = -" in page and "no quote binance:BTCUSDT:bid yet" in page


def test_health_and_confirmation(operator, btc_uah, market, time_machine):
    from obmin.rates.services import rates_sync
    from obmin.rates.tests.conftest import START

    time_machine.move_to(START, tick=False)
    market.failing["kraken"] = "503"
    rates_sync()
    page = operator.get("/admin/rates/ratesource/").content.decode()
    assert "HTTP 503" in page and "2026-12-03 11:00" in page
    assert "BTC → CARDUAH" in operator.get("/admin/rates/marketrate/").content.decode()
    market.failing["binance"] = "503"
    rates_sync(force=True)
    assert "source binance failed: HTTP 503; source kraken failed: HTTP 503" in operator.get(
        "/admin/rates/marketrate/").content.decode()
    market_rate = MarketRate.objects.get()
    MarketRate.objects.filter(pk=market_rate.pk).update(pending_rate=Decimal("4000000"))
    response = operator.post("/admin/rates/marketrate/", {
        "action": "confirm_jump", "_selected_action": [market_rate.pk]}, follow=True)
    assert "jumped rate confirmed" in response.content.decode()
    assert MarketRate.objects.get().accepted_rate == Decimal("4000000")


def test_a_reserve_formula_names_real_currencies(operator, db):
    usdt = CurrencyFactory(code="USDTTRC20", reserve=Decimal(900))
    response = operator.post("/admin/rates/reserveformula/add/", {
        "currency": usdt.pk, "is_enabled": "on", "formula": "reserve(NOPE) - held(USDTTRC20)"})
    assert "Unknown currency: NOPE." in response.content.decode()
    response = operator.post("/admin/rates/reserveformula/add/", {
        "currency": usdt.pk, "is_enabled": "on", "formula": "min(1000, reserve(USDTTRC20)) - 100"})
    assert response.status_code == 302
    assert ReserveFormula.objects.get().formula == "min(1000, reserve(USDTTRC20)) - 100"
