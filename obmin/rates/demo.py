"""Demo data for market rates: sources for five venues and example formulas, all switched off.

Nothing here polls or moves a rate: the sources are disabled (the demo and the tests never
touch the network; the operator enables one to poll it) and the formulas do not follow (the
demo's typed-in rates and its export stay as they are). Each formula passes the admin's save
check here, so a bad example stops the demo rather than ship. Idempotent: sources are looked up
by name, formulas by their direction or currency, and nothing the operator set is changed.
"""

from __future__ import annotations

from decimal import Decimal

from obmin.exchange.models import Currency, Direction
from obmin.rates.formula import formula_text
from obmin.rates.models import MarketRate, RateSide, RateSource, ReserveFormula
from obmin.rates.services import market_formula_check, reserve_formula_check

D = Decimal
# A central bank publishes once a working day: its rate holds over a long weekend.
DAILY_MAX_AGE = 4 * 86400

# name (= venue), poll every s, timeout s, maximum quote age s
RATE_SOURCES = [
    ("binance", 30, "5", 120),
    ("kraken", 30, "5", 120),
    ("coinbase", 30, "5", 120),
    ("nbu", 3600, "10", DAILY_MAX_AGE),
    ("ecb", 3600, "10", DAILY_MAX_AGE),
]

# give, get, side, largest spread %, formula
MARKET_RATES = [
    # The median of two venues' bids less the direction's 1 %.
    ("BTC", "USDTTRC20", RateSide.GET, "1",
     "round(margin(median([binance:BTCUSDT:bid], [kraken:XBTUSDT:bid]), 1), 2)"),
    # A cross rate through the dollar: Coinbase's BTC in USD times the NBU's UAH for a USD.
    ("BTC", "P24UAH", RateSide.GET, "2",
     "round(margin([coinbase:BTC-USD:bid] * [nbu:USD:last], 2), 2)"),
    # UAH the customer gives for 1 USDT, through the euro (the NBU's UAH for a EUR over the
    # ECB's USD for a EUR) plus 2 %, never outside 38..46 whatever the banks publish.
    ("P24UAH", "USDTTRC20", RateSide.GIVE, "2",
     "round(clamp([nbu:EUR:last] / [ecb:USD:last] * 1.02, 38, 46), 2)"),
]

# currency, formula: the office's cash less what open exchanges will still pay out of it.
RESERVE_FORMULAS = [
    ("CASHUSD", "90000 - held(CASHUSD)"),
]


def load_market_rates() -> None:
    for name, interval, timeout, max_age in RATE_SOURCES:
        RateSource.objects.get_or_create(
            name=name, defaults={"venue": name, "is_enabled": False, "interval_seconds": interval,
                                 "timeout_seconds": D(timeout), "max_age_seconds": max_age})
    for give, get, side, spread, formula in MARKET_RATES:
        # Checked and kept canonical as the admin saves it (MarketRateForm.clean_formula).
        text = formula_text(market_formula_check(formula))
        direction = Direction.objects.filter(currency_give__code=give, currency_get__code=get,
                                             city="").first()
        if direction is None or MarketRate.objects.filter(direction=direction).exists():
            continue
        MarketRate.objects.create(direction=direction, is_enabled=False, formula=text,
                                  side=side, max_spread_percent=D(spread))
    for code, formula in RESERVE_FORMULAS:
        text = formula_text(reserve_formula_check(formula))
        currency = Currency.objects.filter(code=code).first()
        if currency is None:
            continue
        ReserveFormula.objects.get_or_create(currency=currency,
                                             defaults={"is_enabled": False, "formula": text})
