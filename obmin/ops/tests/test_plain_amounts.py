"""Money is written as plain decimals everywhere (never `2E+2`): CSV downloads, API answers and
texts such as v1's payment instruction, whatever exponent the stored Decimal carries."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obmin.exchange.models import Exchange
from obmin.exchange.services import exchange_create
from obmin.lib.csvsafe import neutralise
from obmin.partner_api.v1.exchange_methods import bid_values
from obmin.rewards.models import Payout, PayoutMethod

AMOUNTS = ["2E+2", "1.5E+2", "1E+2"]  # 200, 150, 100 as Decimal.normalize() writes them


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_a_csv_cell_of_any_decimal_has_no_exponent(amount: Decimal):
    cell = neutralise(amount)
    assert isinstance(cell, str) and "E" not in cell.upper()
    assert Decimal(cell) == amount


def rows_of(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def exchanges(alice, pm_usdt) -> list[Exchange]:
    made = []
    for amount in AMOUNTS:
        exchange = exchange_create(direction=pm_usdt, amount_give=Decimal(amount),
                                   email="customer@example.org", account_get="TXk5dQ7hYk3wR8m",
                                   partner_id=alice.pk)
        # Stored with the exponent, as a bulk import or another database may hand it back.
        Exchange.objects.filter(pk=exchange.pk).update(amount_give=Decimal(amount),
                                                       amount_get=Decimal(amount))
        exchange.refresh_from_db()
        made.append(exchange)
    return made


@pytest.mark.django_db
def test_exchanges_csv_writes_plain_amounts(client, alice, exchanges):
    client.force_login(alice.user)
    rows = rows_of(client.get("/cabinet/exchanges/csv?period=7d"))
    assert sorted(r["amount_give"] for r in rows) == ["100", "150", "200"]
    assert sorted(r["amount_get"] for r in rows) == ["100", "150", "200"]


@pytest.mark.django_db
def test_payouts_csv_writes_plain_amounts(client, alice):
    method = PayoutMethod.objects.create(title="USDT TRC20", currency_code="USDT")
    Payout.objects.create(partner=alice, method=method, account="TWallet",
                          amount=Decimal("2E+2"), currency_code="USDT",
                          original_amount=Decimal("2E+2"))
    client.force_login(alice.user)
    [row] = rows_of(client.get("/cabinet/payouts/csv"))
    assert "200" in row.values() and not any("E+" in value for value in row.values())


@pytest.mark.django_db
def test_v1_payment_instruction_says_plain_amounts(exchanges):
    for exchange, words in zip(exchanges, ("Send 200 PMUSD", "Send 150 PMUSD", "Send 100 PMUSD"),
                               strict=True):
        data = bid_values(exchange)
        assert data["api_actions"]["instruction"].startswith(words)
