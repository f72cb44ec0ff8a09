"""New exchanges are limited per client address and per visitor: a flood is refused with a
clear form error and creates nothing (exchange_rate_limit_refusal, shared with the API)."""

from __future__ import annotations

import pytest

from obmin.exchange.models import Exchange
from obmin.exchange.services import exchange_rate_limit_refusal
from obmin.lib.visitor import USER_HASH_COOKIE

pytestmark = pytest.mark.django_db

FORM = {"cur_from": "PMUSD", "cur_to": "BTC", "amount_give": "100",
        "email": "customer@example.org", "account_get": "bc1qcustomerwallet"}


def submit(client, address="198.51.100.7"):
    return client.post("/exchange/", FORM, REMOTE_ADDR=address)


def test_a_visitor_beyond_its_rate_is_refused_and_nothing_is_created(client, pm_btc, settings):
    settings.EXCHANGE_RATE_PER_VISITOR = "2/h"
    client.cookies[USER_HASH_COOKIE] = "visitor0001"
    assert submit(client, "198.51.100.1").status_code == 302
    assert submit(client, "198.51.100.2").status_code == 302
    response = submit(client, "198.51.100.3")  # another address, the same visitor
    assert response.status_code == 429
    assert "Too many exchange requests" in response.content.decode()
    assert Exchange.objects.count() == 2
    # Another visitor is not held back by this one.
    client.cookies[USER_HASH_COOKIE] = "visitor0002"
    assert submit(client, "198.51.100.4").status_code == 302


def test_an_address_beyond_its_rate_is_refused_whatever_the_cookie(client, pm_btc, settings):
    settings.EXCHANGE_RATE_PER_IP = "3/h"
    for n in range(3):
        client.cookies[USER_HASH_COOKIE] = f"visitor000{n}"
        assert submit(client).status_code == 302
    client.cookies.clear()
    response = submit(client)
    assert response.status_code == 429
    assert Exchange.objects.count() == 3
    # The values the customer typed are shown again with the refusal.
    assert 'value="customer@example.org"' in response.content.decode()
    assert submit(client, "203.0.113.9").status_code == 302


def test_the_refusal_is_one_function_for_the_form_and_the_api(settings):
    settings.EXCHANGE_RATE_PER_IP = "1/h"
    assert exchange_rate_limit_refusal(client_ip="192.0.2.1", user_hash="") is None
    refusal = exchange_rate_limit_refusal(client_ip="192.0.2.1", user_hash="")
    assert refusal is not None and "Too many exchange requests" in refusal.message
    # Asking without counting tells the same and counts nothing.
    assert exchange_rate_limit_refusal(client_ip="192.0.2.2", user_hash="",
                                       increment=False) is None
    assert exchange_rate_limit_refusal(client_ip="192.0.2.2", user_hash="") is None
