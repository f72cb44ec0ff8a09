"""The exchange page offers only pairs that are exchanged: each side limits the other."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.testing.factories import CurrencyFactory, DirectionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def offered(page, name: str) -> list[str]:
    return page.eval_on_selector_all(f"select[name={name}] option",
                                     "os => os.filter(o => !o.disabled).map(o => o.value)")


def test_you_give_limits_you_get_and_the_other_way_round(page, pm_btc, pm_usdt, usd):
    xmr = CurrencyFactory(code="XMR", decimals=8, reserve=Decimal(10))
    btc = pm_btc.currency_get
    DirectionFactory(currency_give=btc, currency_get=xmr)
    page.goto("/exchange/?cur_from=PMUSD")
    assert offered(page, "cur_to") == ["BTC", "USDTTRC20"]  # never PMUSD → XMR
    page.select_option("select[name=cur_from]", "BTC")
    assert offered(page, "cur_to") == ["XMR"]
    assert page.locator("select[name=cur_to]").input_value() == "XMR"
    page.select_option("select[name=cur_from]", "PMUSD")
    assert page.locator("select[name=cur_to]").input_value() == "BTC"
    page.fill("input[name=amount_give]", "100")
    assert page.locator("#amount-get").inner_text() == "0.00100000 BTC"
    # A link that names only what the customer gets: "You give" offers what pays for it.
    page.goto("/exchange/?cur_to=XMR")
    assert offered(page, "cur_from") == ["BTC"]
    assert page.locator("select[name=cur_from]").input_value() == "BTC"
    page.select_option("select[name=cur_to]", "USDTTRC20")
    assert offered(page, "cur_from") == ["PMUSD"]
    assert page.locator("select[name=cur_from]").input_value() == "PMUSD"
