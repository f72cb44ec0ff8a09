"""`get_info`'s `balance_pending`: rewards in their holding period; `balance` stays payable."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.partner_api.tests.conftest import parse
from obmin.rewards.services import reward_release_due

pytestmark = pytest.mark.django_db


def test_balance_pending_over_the_api(api, alice, alice_key, pm_btc, program):
    program.hold_days = 3
    program.save()
    exchange = exchange_create(direction=pm_btc, amount_give=Decimal(5000),
                               email="customer@example.org", account_get="bc1q",
                               partner_id=alice.pk)
    exchange_set_status(exchange_id=exchange.pk, status="success")
    _response, body = api(alice_key, "get_info")
    # 5000 PMUSD at 2% profit = 100 USD; 20% of it = 20 USD, pending for 3 days.
    assert (body["data"]["balance"], body["data"]["balance_pending"]) == (0, 20)

    reward_release_due(now=timezone.now() + timedelta(days=3, seconds=1))
    _response, body = api(alice_key, "get_info")
    assert (body["data"]["balance"], body["data"]["balance_pending"]) == (20, 0)


def test_the_sandbox_answers_balance_pending_too(api, alice_test_key):
    _response, body = api(alice_test_key, "get_info")
    assert isinstance(body["data"]["balance_pending"], int | float)
    assert body["data"]["balance_pending"] >= 0


def test_docs_and_openapi_name_balance_pending(client):
    docs = client.get("/partners/api/").content.decode()
    assert "balance_pending" in docs and "holding period" in docs
    openapi = parse(client.get("/service/partner/openapi.json"))
    assert "balance_pending" in json.dumps(openapi)
