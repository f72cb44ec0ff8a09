"""Issue 28.2: attribution through v1 create_bid follows the web's rule (a customer bound by an
earlier successful exchange stays bound) and a key names only its own partner unless the
operator granted it others."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.exchange.models import Exchange
from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.partner_api.models import ApiKey
from obmin.partner_api.services import apikey_create
from obmin.partner_api.tests.conftest import parse


def bid(client, key: ApiKey, raw: str, direction, email: str, **extra) -> dict:
    response = client.post("/api/userapi/v1/create_bid", {
        "direction_id": direction.pk, "calc_amount": "100", "account2": "TADDR", "cf6": email,
        **extra}, headers={"API-LOGIN": key.login, "API-KEY": raw})
    return parse(response)


@pytest.mark.django_db
def test_a_key_may_not_name_another_partner(client, alice, bob, pm_usdt):
    key, raw = apikey_create(partner=alice)
    answer = bid(client, key, raw, pm_usdt, "new@example.org", partner_id=bob.pk)
    assert answer["error"] == 4 and list(answer["error_fields"]) == ["partner_id"]
    assert not Exchange.objects.exists()
    own = bid(client, key, raw, pm_usdt, "new@example.org", partner_id=alice.pk)
    assert own["error"] == "0"
    assert Exchange.objects.get().partner_id == alice.pk


@pytest.mark.django_db
def test_a_granted_key_names_others_but_an_existing_binding_wins(client, alice, bob,
                                                                 pm_usdt):
    earlier = exchange_create(direction=pm_usdt, amount_give=Decimal(100),
                              email="bound@example.org", account_get="T", partner_id=bob.pk)
    exchange_set_status(exchange_id=earlier.pk, status="success")
    key, raw = apikey_create(partner=alice)
    ApiKey.objects.filter(pk=key.pk).update(may_name_partners=True)
    # The probe's attack: name alice for bob's customer. bob keeps the customer.
    answer = bid(client, key, raw, pm_usdt, "Bound@Example.org", partner_id=alice.pk)
    assert answer["error"] == "0", answer
    assert Exchange.objects.get(pk=int(answer["data"]["id"])).partner_id == bob.pk
    # A customer bound to nobody goes to the partner named.
    fresh = bid(client, key, raw, pm_usdt, "fresh@example.org", partner_id=bob.pk)
    assert Exchange.objects.get(pk=int(fresh["data"]["id"])).partner_id == bob.pk


@pytest.mark.django_db
def test_keys_partners_create_have_no_grants(alice):
    key, _raw = apikey_create(partner=alice)
    assert (key.may_name_partners, key.may_complete_bids) == (False, False)


@pytest.mark.django_db
def test_success_bid_needs_the_operators_grant(client, alice, pm_usdt):
    key, raw = apikey_create(partner=alice)
    made = bid(client, key, raw, pm_usdt, "c@example.org")["data"]
    headers = {"API-LOGIN": key.login, "API-KEY": raw}
    refused = parse(client.post("/api/userapi/v1/success_bid", {"hash": made["hash"]},
                                headers=headers))
    assert (refused["error"], refused["error_text"]) == (3, "Method not supported")
    assert Exchange.objects.get().status == "new"


@pytest.mark.django_db
def test_a_bid_naming_no_partner_keeps_the_customers_binding(client, alice, bob, pm_usdt):
    """As on the web without a cookie: a customer bound by an earlier successful exchange
    stays their partner's, whoever's key makes the bid and whether or not it names anyone."""
    earlier = exchange_create(direction=pm_usdt, amount_give=Decimal(100),
                              email="bound@example.org", account_get="T", partner_id=bob.pk)
    exchange_set_status(exchange_id=earlier.pk, status="success")
    key, raw = apikey_create(partner=alice)
    answer = bid(client, key, raw, pm_usdt, "Bound@Example.org")
    assert answer["error"] == "0", answer
    assert Exchange.objects.get(pk=int(answer["data"]["id"])).partner_id == bob.pk
    # A customer bound to nobody, and no partner named: nobody's, as before.
    fresh = bid(client, key, raw, pm_usdt, "fresh@example.org")
    assert Exchange.objects.get(pk=int(fresh["data"]["id"])).partner_id is None
