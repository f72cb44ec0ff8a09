"""API fixtures: alice's history at fixed times, bob's own, keys, and a caller for api.php."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client

from obmin.exchange.models import Exchange, ExchangeStatusChange
from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.lib.timeutil import from_unix
from obmin.partner_api.services import apikey_create
from obmin.partners.models import Click
from obmin.rewards.models import Payout, PayoutMethod, RewardLevel
from obmin.testing.factories import payout_to

URL = "/service/partner/api.php"
T0 = 1_717_200_000  # 2024-06-01 00:00:00 UTC


def parse(response) -> dict:
    """The JSON of an answer, streamed or not; the bytes stay on `response.body`."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    response.body = body
    return json.loads(body)


class Api:
    """Calls api.php like a partner's script: GET, POST form, or the key in a Bearer header."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def __call__(self, key: str, method: str, via: str = "get", **options):
        params = {"api_action": "pp", "method": method, **options}
        headers = {}
        if via == "header":
            headers["Authorization"] = f"Bearer {key}"
        else:
            params["api_key"] = key
        if via == "post":
            response = self.client.post(URL, params, headers=headers)
        else:
            response = self.client.get(URL, params, headers=headers)
        return response, parse(response)


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture
def program(program):
    """The shared program (obmin/conftest.py) with one level only: 20% of the profit."""
    RewardLevel.objects.exclude(min_turnover=Decimal(0)).delete()
    return program


@pytest.fixture
def usdt_method(db):
    return PayoutMethod.objects.create(title="USDT TRC20", commission_percent=Decimal(1),
                                       currency_code="USDT")


def make_click(partner, seconds: int, **fields) -> Click:
    values = {"browser": "Chrome 124", "ip": "203.0.113.0", "referrer": "https://mon.example/",
              "user_hash": "u1", "query_string": "cur_from=PMUSD&cur_to=BTC"}
    values.update(fields)
    return Click.objects.create(partner=partner, created_at=from_unix(seconds), **values)


def make_exchange(direction, partner, seconds: int, amount: str = "1000",
                  status: str | None = None) -> Exchange:
    exchange = exchange_create(direction=direction, amount_give=Decimal(amount),
                               email="customer@example.org", account_get="bc1qcustomer",
                               user_hash="u1", partner_id=partner.pk)
    moment = from_unix(seconds)
    Exchange.objects.filter(pk=exchange.pk).update(created_at=moment)
    ExchangeStatusChange.objects.filter(exchange=exchange).update(created_at=moment)
    if status:
        exchange_set_status(exchange_id=exchange.pk, status=status)
        ExchangeStatusChange.objects.filter(exchange=exchange, status=status).update(
            created_at=moment + timedelta(minutes=5))
    exchange.refresh_from_db()
    return exchange


@pytest.fixture
def history(alice, bob, pm_btc, program, usdt_method):
    """alice: 4 clicks, 3 exchanges (one successful), a payout; bob: one of each, his own."""
    clicks = [
        make_click(alice, T0, user_hash="a0"),
        make_click(alice, T0 + 10, ip="198.51.100.0", user_hash="a1"),
        make_click(alice, T0 + 3600, referrer="", user_hash="a2", query_string=""),
        make_click(alice, T0 + 86_400, user_hash="a3"),
    ]
    bot = make_click(alice, T0 + 20, browser="Googlebot 2", is_bot=True)
    exchanges = [
        make_exchange(pm_btc, alice, T0 + 100, "5000", status="success"),
        make_exchange(pm_btc, alice, T0 + 200, "25.5", status="cancelled"),
        make_exchange(pm_btc, alice, T0 + 86_400),
    ]
    payout = payout_to(partner=alice, method_id=usdt_method.pk, account="TQalice")
    Payout.objects.filter(pk=payout.pk).update(created_at=from_unix(T0 + 7200))
    payout.refresh_from_db()
    bob_click = make_click(bob, T0 + 5, user_hash="bob")
    bob_exchange = make_exchange(pm_btc, bob, T0 + 150, "3000", status="success")
    return {"clicks": clicks, "bot": bot, "exchanges": exchanges, "payout": payout,
            "bob_click": bob_click, "bob_exchange": bob_exchange}


@pytest.fixture
def alice_key(alice) -> str:
    return apikey_create(partner=alice, name="alice's reports")[1]


@pytest.fixture
def bob_key(bob) -> str:
    return apikey_create(partner=bob)[1]


@pytest.fixture
def alice_test_key(alice) -> str:
    return apikey_create(partner=alice, test=True)[1]
