"""Reserves that follow a formula: another currency's reserve, a fixed amount less what open
exchanges will pay out; never below zero, in the currency's decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.exchange.models import Currency, ExchangeStatus
from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.rates.models import ReserveFormula
from obmin.rates.services import reserves_recompute

pytestmark = pytest.mark.django_db


def test_a_reserve_follows_another_and_what_open_exchanges_hold(pm_usdt, usd, usdt):
    erc = Currency.objects.create(code="USDTERC20", title="Tether ERC20", decimals=2,
                                  reserve=Decimal("777"))
    ReserveFormula.objects.create(currency=usdt,
                                  formula="min(reserve(USDTERC20), 1000 - held(USDTTRC20))")
    assert reserves_recompute() == 1
    assert Currency.objects.get(pk=usdt.pk).reserve == Decimal("777")

    exchange = exchange_create(direction=pm_usdt, amount_give=Decimal(400),
                               email="c@example.com",
                               account_get="TJRabPrwbZy45sbavfcjinPJC18kjpRTv8")
    erc.reserve = Decimal(5000)
    erc.save()
    reserves_recompute()
    held = exchange.amount_get
    assert Currency.objects.get(pk=usdt.pk).reserve == Decimal(1000) - held

    exchange_set_status(exchange_id=exchange.pk, status=ExchangeStatus.CANCELLED)
    reserves_recompute()
    assert Currency.objects.get(pk=usdt.pk).reserve == Decimal(1000)


def test_a_reserve_never_goes_below_zero_and_a_broken_formula_keeps_it(usdt):
    formula = ReserveFormula.objects.create(currency=usdt, formula="100 - 250.555")
    reserves_recompute()
    assert Currency.objects.get(pk=usdt.pk).reserve == 0
    formula.formula = "reserve(GONE)"
    formula.save()
    reserves_recompute()
    assert Currency.objects.get(pk=usdt.pk).reserve == 0
    assert ReserveFormula.objects.get().problem == "Unknown currency: GONE."
