"""Issue 28.7's kind in query and form parameters: where a number is meant, only ASCII digits.
`str.isdigit` also says yes to superscripts (`²`, which `int()` refuses: a 500 before) and to
full-width or Arabic-Indic digits (which `int()` reads as the ASCII ones)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

NOT_ASCII = ["²", "１", "١", "²1"]


@pytest.fixture
def operator(carol):
    client = Client()
    client.force_login(carol)
    return client


@pytest.mark.parametrize("value", NOT_ASCII)
def test_the_cabinets_payout_csv_filter(client, alice, value):
    client.force_login(alice.user)
    assert client.get("/cabinet/payouts/csv", {"status": value}).status_code == 200


@pytest.mark.parametrize("value", NOT_ASCII)
def test_the_desks_direction_filter(operator, value):
    assert operator.get("/staff/desk/", {"direction": value}).status_code == 200


@pytest.mark.parametrize("value", NOT_ASCII)
def test_the_overviews_payout_choice(operator, value):
    response = operator.post("/staff/overview/mark-paid/", {"payout": [value],
                                                            "transaction_id": "tx1"})
    assert response.status_code == 302


@pytest.mark.parametrize("value", NOT_ASCII)
def test_the_click_lists_partner_filter(operator, value):
    assert operator.get("/admin/partners/click/", {"partner": value}).status_code in (200, 302)
