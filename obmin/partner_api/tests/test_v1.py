"""API v1 over HTTP with its headers: the key check, every method, errors as Premium says them."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from obmin.exchange.accounts import EXAMPLES, AccountFormat
from obmin.exchange.models import Exchange
from obmin.exchange.services import exchange_set_status
from obmin.partner_api.models import ApiBid, ApiKey
from obmin.partner_api.services import apikey_create, apikey_revoke
from obmin.partner_api.tests.conftest import T0, parse
from obmin.partner_api.v1.catalog import ALL_METHODS
from obmin.partner_api.v1.statuses import TO_PREMIUM
from obmin.rewards.models import LedgerEntry

V1 = "/api/userapi/v1/"
BTC_ACCOUNT = EXAMPLES[AccountFormat.BITCOIN]


class V1Client:
    """Calls v1 as a Premium client does: POST, form body, API-LOGIN and API-KEY headers."""

    def __init__(self, client: Client, key: ApiKey, raw: str) -> None:
        self.client, self.login, self.raw = client, key.login, raw

    def __call__(self, method: str, http: str = "post", login: str | None = None,
                 secret: str | None = None, remote: str = "127.0.0.1", **params):
        headers = {"API-LOGIN": self.login if login is None else login,
                   "API-KEY": self.raw if secret is None else secret, "API-LANG": "en_US"}
        call = getattr(self.client, http)
        response = call(V1 + method, params, headers=headers, REMOTE_ADDR=remote)
        assert response["Content-Type"] == "application/json; charset=utf-8", response.content
        return response, parse(response)


@pytest.fixture
def alice_v1(client, alice):
    key, raw = apikey_create(partner=alice, name="bot")
    return V1Client(client, key, raw)


@pytest.fixture
def bob_v1(client, bob):
    key, raw = apikey_create(partner=bob, name="bob's bot")
    return V1Client(client, key, raw)


def text(value: object) -> str:
    """An api.php number as v1 (Premium's PHP) writes it: a string of the same digits."""
    return value if isinstance(value, str) else str(value)


def error_of(answer: dict) -> tuple[int, str]:
    return answer["error"], answer["error_text"]


# --- the key check --------------------------------------------------------------------------


@pytest.mark.django_db
def test_test_method_answers_the_envelope_with_error_as_number_zero(alice_v1, alice):
    response, answer = alice_v1("test")
    assert response.status_code == 200
    assert b'"error":0,' in response.body  # a number: clients compare it as text "0"
    assert answer["error_text"] == ""
    # Values as Premium's PHP sends them: strings.
    assert answer["data"] == {"ip": "127.0.0.1", "user_id": str(alice.user_id),
                              "locale": "en_US", "partner_id": str(alice.pk)}


@pytest.mark.django_db
def test_wrong_login_wrong_key_revoked_key_are_api_disabled(alice_v1, alice, bob_v1):
    assert error_of(alice_v1("test", login="nope")[1]) == (1, "Api disabled")
    assert error_of(alice_v1("test", secret="obm_live_wrong")[1]) == (1, "Api disabled")
    # bob's login with alice's secret: both must belong to one key.
    assert error_of(alice_v1("test", login=bob_v1.login)[1]) == (1, "Api disabled")
    assert error_of(alice_v1("test", login="", secret="")[1]) == (1, "Api disabled")
    key = ApiKey.objects.get(login=alice_v1.login)
    apikey_revoke(partner=alice, key_id=key.pk)
    assert error_of(alice_v1("test")[1]) == (1, "Api disabled")


@pytest.mark.django_db
def test_address_not_allowed_is_api_disabled(client, alice):
    key, raw = apikey_create(partner=alice, allowed_ips=["198.51.100.0/24"])
    call = V1Client(client, key, raw)
    response, answer = call("test", remote="203.0.113.5")
    assert error_of(answer) == (2, "Api disabled")
    assert call("test", remote="198.51.100.7")[1]["error"] == 0


@pytest.mark.django_db
def test_method_outside_the_keys_set_and_unknown_method_are_not_supported(client, alice):
    key, raw = apikey_create(partner=alice, methods=["test", "get_partner_info"])
    call = V1Client(client, key, raw)
    assert call("get_partner_info")[1]["error"] == 0
    assert error_of(call("get_partner_links")[1]) == (3, "Method not supported")
    assert error_of(call("create_bid")[1]) == (3, "Method not supported")
    assert error_of(call("no_such_method")[1]) == (3, "Method not supported")
    assert error_of(call("")[1]) == (3, "Method not supported")


@pytest.mark.django_db
def test_the_method_set_limits_api_php_too(client, alice, api):
    key, raw = apikey_create(partner=alice, methods=["get_partner_info"])
    assert api(raw, "get_info")[1]["error"] == 0
    response, answer = api(raw, "get_links")
    assert answer["error"] == 3


@pytest.mark.django_db
@pytest.mark.parametrize("http", ["put", "delete", "patch", "options"])
def test_other_http_methods_answer_the_envelope(alice_v1, http):
    response, answer = alice_v1("test", http=http)
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert error_of(answer) == (3, "Method not supported")


@pytest.mark.django_db
@pytest.mark.parametrize("content_type,body", [
    ("application/json", b'{"direction_id": 1}'),
    ("multipart/form-data", b"garbage without a boundary"),
    ("application/x-www-form-urlencoded; charset=no-such-charset", b"a=%FF%FE"),
    ("text/plain", b"\xff\xfe\x00"),
])
def test_odd_content_types_answer_the_envelope(client, alice_v1, content_type, body):
    response = client.generic("POST", V1 + "test", body, content_type=content_type,
                              headers={"API-LOGIN": alice_v1.login, "API-KEY": alice_v1.raw})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(response.content)["error"] == 0


@pytest.mark.django_db
def test_rate_limit_is_429_with_the_envelope(alice_v1, settings):
    settings.PARTNER_API_RATE = "2/m"
    alice_v1("test")
    alice_v1("test")
    response, answer = alice_v1("test")
    assert response.status_code == 429
    assert answer["error"] == 5
    assert int(response["Retry-After"]) >= 1


@pytest.mark.django_db
def test_api_lang_translates_error_fields(alice_v1, client, pm_btc):
    response = client.post(V1 + "get_calc", {"direction_id": pm_btc.pk, "calc_amount": "x"},
                           headers={"API-LOGIN": alice_v1.login, "API-KEY": alice_v1.raw,
                                    "API-LANG": "uk_UA"})
    answer = json.loads(response.content)
    assert answer["error"] == 4 and "calc_amount" in answer["error_fields"]
    assert answer["error_fields"]["calc_amount"] != "A number such as 100 or 0.015 is expected."


# --- partner methods ------------------------------------------------------------------------


@pytest.mark.django_db
def test_partner_methods_agree_with_api_php(client, alice, history, api):
    key, raw = apikey_create(partner=alice)
    v1 = V1Client(client, key, raw)
    window = {"start_time": T0, "end_time": T0 + 86_400}

    info_php, info_v1 = api(raw, "get_info")[1]["data"], v1("get_partner_info")[1]["data"]
    assert info_v1["partner_id"] == str(alice.pk)
    # v1 writes as Premium's PHP (strings), api.php as its seed (numbers): the same values.
    assert (info_v1["balance"], info_v1["min_payout"]) == (text(info_php["balance"]),
                                                          text(info_php["min_payout"]))
    assert [(m["id"], m["title"], m["commission"], m["amount"]) for m in info_v1["items"]] == [
        (text(m["id"]), m["title"], m["comission"], text(m["amount"]))
        for m in info_php["items"].values()]
    # Premium's PHP spells it comission (its docs commission): clients read either.
    assert info_v1["items"] and all(m["comission"] == m["commission"] for m in info_v1["items"])

    php = api(raw, "get_links", **window)[1]["data"]["items"]
    items = v1("get_partner_links", **window)[1]["data"]["items"]
    assert isinstance(items, list) and len(items) == 4
    assert items == [{name: text(value) for name, value in item.items()}
                     for item in php.values()]

    php = api(raw, "get_exchanges", **window)[1]["data"]["items"]
    items = v1("get_partner_exchanges", status_history=1, **window)[1]["data"]["items"]
    assert [e["id"] for e in items] == list(php)
    for mine, theirs in zip(items, php.values(), strict=True):
        for field in ("time", "date", "course_give", "course_get", "amount_give", "amount_get",
                      "exchange_success", "accrued", "partner_reward", "user_hash",
                      "currency_code_give", "currency_code_get"):
            assert mine[field] == text(theirs[field]), field
        assert mine["status"] == TO_PREMIUM[theirs["status"]]
        assert [s["status"] for s in mine["statuses"]] == [
            TO_PREMIUM[s["status"]] for s in theirs["statuses"]]
        assert mine["psys_give"] == "Perfect Money USD" and mine["user_ip"] == ""

    php = api(raw, "get_payouts")[1]["data"]["items"]
    items = v1("get_partner_payouts")[1]["data"]["items"]
    assert [p["id"] for p in items] == list(php)
    assert items[0]["pay_amount"] == text(next(iter(php.values()))["pay_amount"])


@pytest.mark.django_db
def test_partner_lists_by_id_and_limit_and_isolation(client, alice, bob, history):
    key, raw = apikey_create(partner=alice)
    v1 = V1Client(client, key, raw)
    first = history["exchanges"][0]
    items = v1("get_partner_exchanges", id=first.pk)[1]["data"]["items"]
    assert [e["id"] for e in items] == [str(first.pk)]
    assert "statuses" not in v1("get_partner_exchanges", id=first.pk, status_history=0)[1][
        "data"]["items"][0]
    # bob's exchange is no item of alice's, by id or otherwise.
    assert v1("get_partner_exchanges", id=history["bob_exchange"].pk)[1]["data"]["items"] == []
    assert len(v1("get_partner_links", limit=2)[1]["data"]["items"]) == 2
    payout = history["payout"]
    assert [p["id"] for p in v1("get_partner_payouts", id=payout.pk)[1]["data"]["items"]] == [
        str(payout.pk)]
    assert v1("get_partner_exchanges", ip="203.0.113.9")[1]["data"]["items"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("method,params,field", [
    ("get_partner_links", {"start_time": "yesterday"}, "start_time"),
    ("get_partner_links", {"ip": "not-an-ip"}, "ip"),
    ("get_partner_exchanges", {"limit": "0"}, "limit"),
    ("get_partner_exchanges", {"id": "x"}, "id"),
    ("get_partner_exchanges", {"status_history": "yes"}, "status_history"),
    ("get_partner_payouts", {"end_time": "-1"}, "end_time"),
    ("add_partner_payout", {"method_id": "", "account": ""}, "method_id"),
])
def test_bad_partner_parameters_name_the_field(alice_v1, program, method, params, field):
    response, answer = alice_v1(method, **params)
    assert response.status_code == 200
    assert answer["error"] == 4
    assert field in answer["error_fields"]
    assert answer["error_text"].startswith(field)


@pytest.mark.django_db
def test_add_partner_payout_as_api_php_does(alice_v1, alice, history, usdt_method):
    response, answer = alice_v1("add_partner_payout", method_id=usdt_method.pk,
                                account="TQalice")
    # The history's payout took the whole balance already: refused, naming the balance.
    assert answer["error"] == 4 and list(answer["error_fields"]) == ["balance"]


@pytest.mark.django_db
def test_a_test_key_answers_from_the_sandbox(client, alice):
    key, raw = apikey_create(partner=alice, test=True)
    v1 = V1Client(client, key, raw)
    items = v1("get_partner_exchanges")[1]["data"]["items"]
    assert items and all(e["id"].isdigit() for e in items)
    assert not Exchange.objects.exists()


# --- exchange methods -----------------------------------------------------------------------


@pytest.mark.django_db
def test_directions_currencies_and_one_direction(alice_v1, pm_btc, pm_usdt):
    currencies = alice_v1("get_direction_currencies")[1]["data"]
    assert [c["title"] for c in currencies["give"]] == ["Perfect Money USD"]
    assert {c["title"] for c in currencies["get"]} == {"Bitcoin", "Tether TRC20"}
    directions = alice_v1("get_directions")[1]["data"]
    assert {d["direction_id"] for d in directions} == {str(pm_btc.pk), str(pm_usdt.pk)}
    assert set(directions[0]) == {"direction_id", "currency_give_id", "currency_give_title",
                                  "currency_give_logo", "currency_get_id",
                                  "currency_get_title", "currency_get_logo"}
    only = alice_v1("get_directions", currency_id_get=pm_usdt.currency_get_id)[1]["data"]
    assert [d["direction_id"] for d in only] == [str(pm_usdt.pk)]
    data = alice_v1("get_direction", direction_id=pm_btc.pk)[1]["data"]
    assert data["currency_code_give"] == "PMUSD" and data["currency_code_get"] == "BTC"
    assert (data["min_give"], data["max_give"], data["reserve"]) == ("10", "5000", "2")
    assert data["min_get"] == "0.0001" and data["max_get"] == "0.05"
    assert list(data["get_fields"]) == ["account2"] and data["give_fields"] == []
    assert list(data["dir_fields"]) == ["cf6"]
    assert "cur_from=PMUSD" in data["url"]


@pytest.mark.django_db
def test_unknown_or_inactive_direction_is_direction_not_found(alice_v1, pm_btc):
    assert error_of(alice_v1("get_direction", direction_id=999999)[1]) == (
        7, "Direction not found")
    pm_btc.is_active = False
    pm_btc.save()
    assert error_of(alice_v1("get_calc", direction_id=pm_btc.pk, calc_amount=100)[1]) == (
        7, "Direction not found")
    response, answer = alice_v1("get_direction")
    assert answer["error"] == 4 and "direction_id" in answer["error_fields"]


@pytest.mark.django_db
def test_calc_both_ways_and_moved_into_the_limits(alice_v1, pm_btc):
    data = alice_v1("get_calc", direction_id=pm_btc.pk, calc_amount="1000")[1]["data"]
    assert (data["sum_give"], data["sum_get"], data["changed"]) == ("1000", "0.01", "0")
    data = alice_v1("get_calc", direction_id=pm_btc.pk, calc_amount="0.02",
                    calc_action=2)[1]["data"]
    assert (data["sum_give"], data["sum_get"], data["changed"]) == ("2000", "0.02", "0")
    data = alice_v1("get_calc", direction_id=pm_btc.pk, calc_amount="1")[1]["data"]
    assert (data["sum_give"], data["changed"]) == ("10", "1")
    data = alice_v1("get_calc", direction_id=pm_btc.pk, calc_amount="99999")[1]["data"]
    assert (data["sum_give"], data["changed"]) == ("5000", "1")
    answer = alice_v1("get_calc", direction_id=pm_btc.pk, calc_amount="1",
                      calc_action=5)[1]
    assert answer["error"] == 4 and "calc_action" in answer["error_fields"]


def bid(v1, direction, **extra):
    params = {"direction_id": direction.pk, "calc_amount": "1000", "account2": BTC_ACCOUNT,
              "cf6": "customer@example.org", **extra}
    return v1("create_bid", **params)


@pytest.mark.django_db
@pytest.mark.parametrize("extra,field", [
    ({"calc_amount": "5"}, "calc_amount"),            # below the minimum
    ({"calc_amount": "6000"}, "calc_amount"),         # above the maximum
    ({"calc_amount": "abc"}, "calc_amount"),
    ({"account2": "bc1qnotachecksum"}, "account2"),   # the account format, with its checksum
    ({"account2": ""}, "account2"),
    ({"cf6": "not-an-email"}, "cf6"),
    ({"partner_id": "999999"}, "partner_id"),
    ({"partner_id": "x"}, "partner_id"),
    ({"callback_url": "http://127.0.0.1/hook"}, "callback_url"),
    ({"callback_url": "ftp://example.com/"}, "callback_url"),
    # More decimals than the currency has (issue 28.7): refused, not rounded to 100.01
    ({"calc_amount": "100.000000001"}, "calc_amount"),
    ({"calc_amount": "100.001", "calc_action": "3"}, "calc_amount"),
    ({"calc_amount": "0.001000001", "calc_action": "4"}, "calc_amount"),
])
def test_create_bid_refuses_as_the_exchange_page_does(alice_v1, pm_btc, btc_checked, extra,
                                                      field):
    response, answer = bid(alice_v1, pm_btc, **extra)
    assert response.status_code == 200
    assert answer["error"] == 4, answer
    assert field in answer["error_fields"]
    assert not Exchange.objects.exists()


@pytest.mark.django_db
def test_create_bid_beyond_the_reserve_is_refused(alice_v1, pm_btc, btc_checked):
    btc_checked.reserve = Decimal("0.001")
    btc_checked.save()
    answer = bid(alice_v1, pm_btc)[1]
    assert answer["error"] == 4 and "calc_amount" in answer["error_fields"]
    assert not Exchange.objects.exists()


@pytest.mark.django_db
def test_bid_lifecycle_info_pay_cancel_and_key_isolation(alice_v1, bob_v1, pm_btc, btc_checked):
    created = bid(alice_v1, pm_btc, api_id="order-7")[1]["data"]
    assert created["status"] == "new" and created["amount_give"] == "1000"
    assert created["currency_code_get"] == "BTC" and created["api_actions"]["cancel"] == "api"
    assert created["api_id"] == "order-7"
    exchange = Exchange.objects.get(pk=int(created["id"]))
    assert exchange.token == created["hash"] and exchange.partner_id is None
    assert alice_v1("bid_info", id=created["id"])[1]["data"]["hash"] == created["hash"]
    assert alice_v1("bid_info", hash=created["hash"])[1]["data"]["id"] == created["id"]
    # Another key sees no such bid, and cannot touch it.
    for method, params in (("bid_info", {"id": created["id"]}),
                           ("pay_bid", {"hash": created["hash"]}),
                           ("cancel_bid", {"hash": created["hash"]})):
        assert error_of(bob_v1(method, **params)[1]) == (6, "No bid exists")
    assert bob_v1("get_exchanges")[1]["data"]["items"] == []
    assert error_of(alice_v1("bid_info", id=999999)[1]) == (6, "No bid exists")
    assert alice_v1("bid_info")[1]["error"] == 4
    assert alice_v1("pay_bid", hash=created["hash"])[1]["data"] == "payed"
    refused = alice_v1("cancel_bid", hash=created["hash"])[1]
    assert refused["error"] == 4 and "hash" in refused["error_fields"]
    listed = alice_v1("get_exchanges")[1]["data"]["items"]
    assert [b["id"] for b in listed] == [created["id"]]
    second = bid(alice_v1, pm_btc)[1]["data"]
    assert alice_v1("cancel_bid", hash=second["hash"])[1]["data"] == "cancel"


@pytest.mark.django_db
def test_bid_with_partner_id_credits_that_partner_on_success(alice_v1, bob, pm_btc,
                                                              btc_checked, program):
    # The operator granted alice's key the right to name other partners (issue 28.2).
    ApiKey.objects.filter(login=alice_v1.login).update(may_name_partners=True)
    created = bid(alice_v1, pm_btc, partner_id=bob.pk, calc_amount="5000")[1]["data"]
    exchange = Exchange.objects.get(pk=int(created["id"]))
    assert exchange.partner_id == bob.pk
    assert ApiBid.objects.get(pk=exchange.pk).api_key.partner.user.email == "alice@example.com"
    exchange_set_status(exchange_id=exchange.pk, status="success", actor="carol")
    credit = LedgerEntry.objects.get(partner_id=bob.pk)
    # 20% of the 2% profit of 5000 USD.
    assert credit.amount == Decimal("20")
    exchange.refresh_from_db()
    assert exchange.reward_accrued


@pytest.mark.django_db
def test_bid_rate_limit_per_key_set_by_the_operator(alice_v1, pm_btc, btc_checked):
    ApiKey.objects.filter(login=alice_v1.login).update(bids_per_hour=2)
    assert bid(alice_v1, pm_btc)[1]["error"] == "0"
    assert bid(alice_v1, pm_btc)[1]["error"] == "0"
    response, answer = bid(alice_v1, pm_btc)
    assert response.status_code == 429 and answer["error"] == 5
    assert Exchange.objects.count() == 2
    # Retry-After is the hourly window's end, the same wait the text tells (it was always 60).
    assert_retry_after_as_told(response, answer)


def assert_retry_after_as_told(response, answer):
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 3600
    assert f"try again in {max(wait // 60, 1)} min" in answer["error_text"]


@pytest.mark.django_db
def test_bid_rate_limit_per_customer_address_the_bot_passes(alice_v1, pm_btc, btc_checked,
                                                            settings):
    settings.EXCHANGE_RATE_PER_IP = "2/h"  # the exchange page's limit per address
    assert bid(alice_v1, pm_btc, user_ip="192.0.2.1")[1]["error"] == "0"
    assert bid(alice_v1, pm_btc, user_ip="192.0.2.1")[1]["error"] == "0"
    response, answer = bid(alice_v1, pm_btc, user_ip="192.0.2.1")
    assert response.status_code == 429 and answer["error"] == 5
    assert_retry_after_as_told(response, answer)
    # Another customer of the same bot (same key, same caller's address) is not held back.
    assert bid(alice_v1, pm_btc, user_ip="192.0.2.2")[1]["error"] == "0"


@pytest.mark.django_db
def test_a_test_keys_bid_is_checked_but_not_created(client, alice, pm_btc, btc_checked):
    key, raw = apikey_create(partner=alice, test=True)
    v1 = V1Client(client, key, raw)
    assert bid(v1, pm_btc, account2="bc1qwrong")[1]["error"] == 4
    data = bid(v1, pm_btc)[1]["data"]
    assert data["id"] == "0" and data["amount_get"] == "0.01"
    assert not Exchange.objects.exists()


# --- the command ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_apikey_command_prints_login_then_key(alice, capsys):
    call_command("apikey", "create", "alice@example.com", "--methods", "test,get_calc")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2].startswith("login ")
    key = ApiKey.objects.get(login=lines[-2].removeprefix("login "))
    assert key.methods == ["test", "get_calc"]
    assert lines[-1].startswith("obm_live_")


@pytest.mark.django_db
def test_apikey_command_refuses_an_unknown_method(alice):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no_such"):
        call_command("apikey", "create", "alice@example.com", "--methods", "no_such")


def test_every_method_has_a_handler():
    from obmin.partner_api.v1.views import HANDLERS

    assert tuple(HANDLERS) == ALL_METHODS


# --- api.php answers the envelope whatever the HTTP method or body --------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("http", ["put", "delete", "patch", "options"])
def test_api_php_other_http_methods_answer_the_envelope(client, alice_key, http):
    response = getattr(client, http)("/service/partner/api.php?api_action=pp&method=get_info",
                                     headers={"Authorization": f"Bearer {alice_key}"})
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json; charset=utf-8"
    answer = json.loads(response.content)
    assert answer["status"] == "error" and answer["error"] == 3
    assert response["Allow"] == "GET, POST"


@pytest.mark.django_db
@pytest.mark.parametrize("content_type,body", [
    ("application/json", b'{"api_action": "pp"}'),
    ("multipart/form-data", b"no boundary"),
    ("application/x-www-form-urlencoded; charset=no-such-charset", b"note=%FF"),
    ("application/octet-stream", b"\x00\xff"),
])
def test_api_php_odd_content_types_answer_the_envelope(client, alice_key, content_type, body):
    response = client.generic("POST", "/service/partner/api.php?api_action=pp&method=get_info",
                              body, content_type=content_type,
                              headers={"Authorization": f"Bearer {alice_key}"})
    assert response.status_code == 200
    assert json.loads(response.content)["error"] == 0
