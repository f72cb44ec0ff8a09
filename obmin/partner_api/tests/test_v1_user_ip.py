"""API v1's `user_ip` of an exchange and the `ip` filter of `get_partner_exchanges`: the
customer's address is kept whole at creation and shown to partners masked as clicks' are."""

from __future__ import annotations

import pytest

from obmin.exchange.models import Exchange
from obmin.partner_api.models import ApiKey
from obmin.partner_api.services import apikey_create
from obmin.partner_api.tests.test_v1 import BTC_ACCOUNT, V1Client, bid
from obmin.partners.models import ReferralSettings

pytestmark = pytest.mark.django_db

ALICE_IP = "203.0.113.57"
OTHER_IP = "198.51.100.7"
IPV6 = "2001:db8:85a3:8d3:1319:8a2e:370:7348"


def referred_exchange(client, remote: str, code: str = "alice001") -> Exchange:
    """A visitor from `remote` follows the partner's link, then exchanges on the page."""
    client.cookies.clear()
    client.get(f"/ref/{code}/", QUERY_STRING="cur_from=PMUSD&cur_to=BTC", REMOTE_ADDR=remote,
               HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36")
    response = client.post("/exchange/", {
        "cur_from": "PMUSD", "cur_to": "BTC", "amount_give": "100",
        "email": f"customer{Exchange.objects.count()}@example.org",
        "account_get": BTC_ACCOUNT}, REMOTE_ADDR=remote)
    assert response.status_code == 302, response.content
    return Exchange.objects.latest("id")


def v1_of(client, partner) -> V1Client:
    key, raw = apikey_create(partner=partner, name="bot")
    return V1Client(client, key, raw)


def listed(v1: V1Client, **params) -> list[dict]:
    response, answer = v1("get_partner_exchanges", **params)
    assert answer["error"] == 0, answer
    # Ids arrive as text (Premium's PHP); compared here with the rows' own.
    return [{**item, "id": int(item["id"])} for item in answer["data"]["items"]]


def test_the_page_keeps_the_address_whole_and_v1_shows_it_masked(client, alice, pm_btc):
    exchange = referred_exchange(client, ALICE_IP)
    assert exchange.partner_id == alice.pk
    assert exchange.user_ip == ALICE_IP  # the operator's own record is whole
    items = listed(v1_of(client, alice))
    assert [(item["id"], item["user_ip"]) for item in items] == [(exchange.pk, "203.0.113.0")]


def test_unmasked_when_the_operator_keeps_addresses(client, alice, pm_btc):
    ReferralSettings.objects.create(mask_ips=False)
    exchange = referred_exchange(client, IPV6)
    assert [(i["id"], i["user_ip"]) for i in listed(v1_of(client, alice))] == [
        (exchange.pk, IPV6)]


def test_ip_filter_compares_masked_to_masked(client, alice, pm_btc):
    mine = referred_exchange(client, ALICE_IP)
    other = referred_exchange(client, OTHER_IP)
    v6 = referred_exchange(client, IPV6)
    v1 = v1_of(client, alice)
    assert [i["id"] for i in listed(v1)] == [v6.pk, other.pk, mine.pk]  # newest first
    # The same /24 finds it, masked as partners see it; another network does not.
    assert [i["id"] for i in listed(v1, ip="203.0.113.200")] == [mine.pk]
    assert [i["id"] for i in listed(v1, ip=OTHER_IP)] == [other.pk]
    assert [i["id"] for i in listed(v1, ip="2001:DB8:85A3::1")] == [v6.pk]
    assert listed(v1, ip="203.0.114.57") == []
    assert listed(v1, ip="2001:db8:85a4::1") == []
    # With `id`, and with the window's limit applied after the filter.
    assert [i["id"] for i in listed(v1, ip=OTHER_IP, id=other.pk)] == [other.pk]
    assert listed(v1, ip=ALICE_IP, id=other.pk) == []
    assert [i["id"] for i in listed(v1, ip=OTHER_IP, limit=1)] == [other.pk]


def test_ip_filter_is_exact_when_unmasked(client, alice, pm_btc):
    ReferralSettings.objects.create(mask_ips=False)
    mine = referred_exchange(client, ALICE_IP)
    referred_exchange(client, "203.0.113.58")
    v1 = v1_of(client, alice)
    assert [(i["id"], i["user_ip"]) for i in listed(v1, ip=ALICE_IP)] == [(mine.pk, ALICE_IP)]
    assert listed(v1, ip="203.0.113.1") == []


def test_bob_never_sees_alices(client, alice, bob, pm_btc):
    referred_exchange(client, ALICE_IP)
    bob_v1 = v1_of(client, bob)
    assert listed(bob_v1) == []
    assert listed(bob_v1, ip=ALICE_IP) == []


def test_a_bad_ip_filter_names_the_field(client, alice, pm_btc):
    _response, answer = v1_of(client, alice)("get_partner_exchanges", ip="not-an-ip")
    assert answer["error"] != 0 and "ip" in answer["error_fields"]


def test_create_bid_keeps_the_callers_address(client, alice, bob, pm_btc):
    alice_v1 = v1_of(client, alice)
    ApiKey.objects.filter(partner=alice).update(may_name_partners=True)
    _response, answer = bid(alice_v1, pm_btc, partner_id=str(bob.pk),
                            remote="192.0.2.44")
    assert answer["error"] == "0", answer
    assert Exchange.objects.get(pk=int(answer["data"]["id"])).user_ip == "192.0.2.44"
    assert [i["user_ip"] for i in listed(v1_of(client, bob), ip="192.0.2.9")] == ["192.0.2.0"]


def test_the_sandbox_has_masked_addresses_and_filters_by_them(client, alice):
    key, raw = apikey_create(partner=alice, test=True)
    v1 = V1Client(client, key, raw)
    items = listed(v1)
    assert items and all(i["user_ip"].endswith(".0") for i in items)
    wanted = items[-1]["user_ip"]
    found = listed(v1, ip=wanted[:-1] + "77")
    assert found and all(i["user_ip"] == wanted for i in found)
    assert items[-1]["id"] in [i["id"] for i in found]
