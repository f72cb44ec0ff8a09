"""A floating rate is promised for `rate_hold_minutes`: paid within it, the promise stands; paid
after it, the amount to receive follows the direction's rate then (either way), the promised
amount kept beside it and the change said on the status entry and the customer's page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from obmin.exchange.models import Direction, Exchange
from obmin.exchange.services import customer_mark_paid, exchange_create, exchange_set_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def floating(pm_btc):
    Direction.objects.filter(pk=pm_btc.pk).update(rate_hold_minutes=15)
    return Direction.objects.select_related("currency_give", "currency_get").get(pk=pm_btc.pk)


@pytest.fixture
def exchange(floating):
    # 1000 PMUSD at 100000 : 1 is 0.01 BTC.
    return exchange_create(direction=floating, amount_give=Decimal(1000),
                           email="c@example.org", account_get="bc1q")


def reprice(direction: Direction, rate_give: Decimal) -> None:
    Direction.objects.filter(pk=direction.pk).update(rate_give=rate_give)


def test_paid_within_the_hold_keeps_the_promised_amount(exchange, floating, time_machine):
    time_machine.move_to(timezone.now() + timedelta(minutes=14), tick=False)
    reprice(floating, Decimal(125000))
    customer_mark_paid(token=exchange.token)
    exchange.refresh_from_db()
    assert exchange.amount_get == Decimal("0.01") and exchange.requoted_at is None


@pytest.mark.parametrize(("rate_give", "gets"), [(Decimal(125000), Decimal("0.008")),
                                                  (Decimal(80000), Decimal("0.0125"))])
def test_paid_after_the_hold_follows_the_market_either_way(exchange, floating, time_machine,
                                                           client, rate_give, gets):
    time_machine.move_to(timezone.now() + timedelta(minutes=16), tick=False)
    reprice(floating, rate_give)
    customer_mark_paid(token=exchange.token, txid="tx-1")
    exchange.refresh_from_db()
    assert exchange.amount_get == gets and exchange.amount_get_held == Decimal("0.01")
    assert exchange.rate_give == rate_give and exchange.requoted_at is not None
    paid = exchange.status_changes.get(status="paid")
    assert "re-quoted" in paid.note and "was 0.01" in paid.note
    page = client.get(f"/exchange/{exchange.token}/").content.decode()
    assert 'id="rate-requoted"' in page and "0.01 BTC" in page


def test_no_sound_rate_after_the_hold_keeps_the_amount_for_the_operator(exchange, floating,
                                                                       time_machine):
    time_machine.move_to(timezone.now() + timedelta(minutes=16), tick=False)
    Direction.objects.filter(pk=floating.pk).update(is_active=False, rate_give=Decimal(125000))
    exchange_set_status(exchange_id=exchange.pk, status="received", actor="desk:carol")
    exchange.refresh_from_db()
    assert exchange.amount_get == Decimal("0.01") and exchange.requoted_at is None
    assert "operator to check" in exchange.status_changes.get(status="received").note


def test_a_fixed_rate_is_never_re_quoted(pm_btc, time_machine):
    exchange = exchange_create(direction=pm_btc, amount_give=Decimal(1000),
                               email="c@example.org", account_get="bc1q")
    time_machine.move_to(timezone.now() + timedelta(days=1), tick=False)
    reprice(pm_btc, Decimal(125000))
    customer_mark_paid(token=exchange.token)
    assert Exchange.objects.get(pk=exchange.pk).amount_get == Decimal("0.01")


def test_the_form_tells_which_rates_float(floating, pm_usdt, client):
    import json
    import re

    page = client.get("/exchange/").content.decode()
    data = json.loads(re.search(r'id="directions-data"[^>]*>(.*?)</script>', page, re.S)[1])
    holds = {(d["from"], d["to"]): d["hold_minutes"] for d in data}
    assert holds[("PMUSD", "BTC")] == 15 and holds[("PMUSD", pm_usdt.currency_get.code)] is None
    assert "floating rate: held for {minutes} min" in page  # the script's text for it
