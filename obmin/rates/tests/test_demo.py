"""The demo has rate sources and example formulas ready to try, all switched off: the formulas
pass the admin's save check, nothing is polled, the export is as without them; twice is once."""

from __future__ import annotations

import pytest
import respx
from django.apps import apps

from obmin.exchange.models import Currency, Direction
from obmin.monitoring import snapshot
from obmin.monitoring.tests.parse import xml_items
from obmin.ops.demo import (
    DEMO_PARTNERS,
    DEMO_STEPS,
    load_currencies_and_directions,
    load_direction_fields,
    load_users,
)
from obmin.rates.admin import MarketRateForm, ReserveFormulaForm
from obmin.rates.demo import MARKET_RATES, RATE_SOURCES, RESERVE_FORMULAS, load_market_rates
from obmin.rates.models import MarketRate, RateSource, ReserveFormula
from obmin.rates.services import rates_sync

pytestmark = pytest.mark.django_db

EXPORT = f"/service/export/xml/{DEMO_PARTNERS[2][1]}"
DIRECTION_RATE = ["rate_give", "rate_get", "rate_updated_at", "rate_inputs_at",
                  "rate_valid_until", "rate_hidden_reason", "is_active"]


def rows() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_app_config("rates").get_models()}


def export(client) -> bytes:
    snapshot._memo = None  # built afresh, not the bytes from before
    response = client.get(EXPORT)
    assert response.status_code == 200
    return response.content


def test_demo_rate_sources_and_formulas_are_ready_and_off(client):
    assert load_market_rates in DEMO_STEPS
    load_currencies_and_directions()
    load_direction_fields()
    load_users()
    export_before = export(client)
    # The directions given example formulas are offered at their typed-in rates.
    assert {(give, get, "") for give, get, *_ in MARKET_RATES} <= set(xml_items(export_before))
    directions_before = list(Direction.objects.order_by("pk").values_list(*DIRECTION_RATE))
    reserves_before = dict(Currency.objects.values_list("code", "reserve"))

    load_market_rates()

    sources = RateSource.objects.all()
    assert {s.name for s in sources} == {name for name, *_ in RATE_SOURCES} == {
        "binance", "kraken", "coinbase", "nbu", "ecb"}
    assert all(s.venue == s.name and not s.is_enabled for s in sources)
    assert RateSource.objects.get(name="nbu").max_age_seconds >= 3 * 86400  # weekends

    markets = MarketRate.objects.select_related("direction__currency_give",
                                                "direction__currency_get")
    assert {(m.direction.currency_give.code, m.direction.currency_get.code) for m in markets} \
        == {(give, get) for give, get, *_ in MARKET_RATES}
    for market in markets:
        assert not market.is_enabled
        # The admin's own form accepts it unchanged (it keeps formulas canonical).
        form = MarketRateForm({"direction": market.direction_id, "formula": market.formula,
                               "side": market.side, "max_jump_percent": market.max_jump_percent,
                               "max_spread_percent": market.max_spread_percent},
                              instance=market)
        assert form.is_valid(), form.errors
        assert form.cleaned_data["formula"] == market.formula
    # Every source is read by some example, so enabling any one shows something.
    formulas = " ".join(m.formula for m in markets)
    assert all(f"[{name}:" in formulas for name, *_ in RATE_SOURCES)

    reserve_formulas = ReserveFormula.objects.all()
    assert {f.currency.code for f in reserve_formulas} == {c for c, _ in RESERVE_FORMULAS}
    for formula in reserve_formulas:
        assert not formula.is_enabled
        form = ReserveFormulaForm({"currency": formula.currency_id, "formula": formula.formula},
                                  instance=formula)
        assert form.is_valid(), form.errors
        assert form.cleaned_data["formula"] == formula.formula

    # A sync round asks no venue (respx refuses any request) and moves nothing.
    with respx.mock:
        assert rates_sync(force=True) == 0
    assert list(Direction.objects.order_by("pk").values_list(*DIRECTION_RATE)) \
        == directions_before
    assert dict(Currency.objects.values_list("code", "reserve")) == reserves_before
    assert export(client) == export_before

    before = rows()
    load_market_rates()
    assert rows() == before
