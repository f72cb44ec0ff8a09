"""API v1 against its own table (`v1/table.py`, what contract 4b says Premium sends): every
method over HTTP, GET and POST (form and JSON), each answer's every field present with
Premium's JSON type, both envelopes, every filter, api_actions for manual and automatic
payment, fields keyed by Premium's names, statuses by Premium's names."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from obmin.exchange.accounts import EXAMPLES, AccountFormat
from obmin.exchange.models import DirectionField, Exchange, ExchangeStatus
from obmin.exchange.services import exchange_set_status
from obmin.lib.money import plain
from obmin.partner_api.models import ApiKey
from obmin.partner_api.services import apikey_create
from obmin.partner_api.tests.conftest import parse
from obmin.partner_api.v1.catalog import ALL_METHODS
from obmin.partner_api.v1.statuses import TO_PREMIUM
from obmin.partner_api.v1.table import BY_NAME, KEYED, LIST, OBJECT, STRING, Field

V1 = "/api/userapi/v1/"
BTC_ACCOUNT = EXAMPLES[AccountFormat.BITCOIN]


def conforms(fields: tuple[Field, ...], value: Any, path: str = "data") -> None:
    """Every field of the table present (unless optional) with its JSON type, recursively."""
    assert isinstance(value, dict), f"{path} is {type(value).__name__}, not an object"
    for field in fields:
        where = f"{path}.{field.name}"
        if field.name not in value:
            assert field.optional, f"{where} is missing"
            continue
        got = value[field.name]
        if field.wire == STRING:
            assert isinstance(got, str), f"{where} is {got!r}, not a string"
        elif field.wire == OBJECT:
            conforms(field.fields, got, where)
        elif field.wire == LIST:
            assert isinstance(got, list), f"{where} is not a list"
            for n, each in enumerate(got):
                conforms(field.fields, each, f"{where}[{n}]")
        elif field.wire == KEYED:
            assert got == [] or isinstance(got, dict), f"{where} is neither [] nor an object"
            for name, each in (got or {}).items():
                if field.fields:
                    conforms(field.fields, each, f"{where}.{name}")
                    assert each["name"] == name
                else:
                    assert isinstance(each, str)


def conforms_data(method: str, answer: dict) -> None:
    spec = BY_NAME[method]
    assert answer["error"] == spec.success_error and type(answer["error"]) is type(
        spec.success_error), (method, answer)
    assert answer["error_text"] == ""
    if spec.data == STRING:
        assert isinstance(answer["data"], str) and answer["data"], (method, answer)
    elif spec.data == LIST:
        assert isinstance(answer["data"], list)
        for each in answer["data"]:
            conforms(spec.answer, each)
    else:
        conforms(spec.answer, answer["data"])


class PremiumClient:
    """A Premium client: API-LOGIN and API-KEY headers; GET, POST form or POST JSON."""

    def __init__(self, client, key: ApiKey, raw: str) -> None:
        self.client, self.key, self.raw = client, key, raw

    def __call__(self, method: str, via: str = "post", **params: Any) -> dict:
        headers = {"API-LOGIN": self.key.login, "API-KEY": self.raw, "API-LANG": "en_US"}
        if via == "get":
            response = self.client.get(V1 + method, params, headers=headers)
        elif via == "json":
            response = self.client.post(V1 + method, json.dumps(params),
                                        content_type="application/json", headers=headers)
        else:
            response = self.client.post(V1 + method, params, headers=headers)
        assert response["Content-Type"] == "application/json; charset=utf-8"
        return parse(response)


@pytest.fixture
def world(client, alice, bob, pm_btc, pm_usdt, btc, history, usdt_method):
    """alice's bot key (granted success_bid), pm_btc asking extra fields with the e-mail as cf1,
    pm_usdt paid automatically."""
    btc.account_format = AccountFormat.BITCOIN
    btc.save()
    pm_btc.email_field = "cf1"
    pm_btc.pay_to = "U9990001"
    pm_btc.save()
    DirectionField.objects.create(direction=pm_btc, name="account1", label="Your PM account")
    DirectionField.objects.create(direction=pm_btc, name="cfgive8", label="Cardholder",
                                  required=False)
    DirectionField.objects.create(direction=pm_btc, name="cf11", label="Telegram",
                                  required=False)
    pm_usdt.automatic_payment = True
    pm_usdt.save()
    key, raw = apikey_create(partner=alice, name="bot")
    ApiKey.objects.filter(pk=key.pk).update(may_complete_bids=True)
    key.refresh_from_db()
    return {"v1": PremiumClient(client, key, raw), "pm_btc": pm_btc, "pm_usdt": pm_usdt,
            "alice": alice, "bob": bob}


def btc_bid(world: dict, via: str = "post", **extra: Any) -> dict:
    """A bid on pm_btc, which asks account1 and the e-mail as cf1."""
    return world["v1"]("create_bid", via, direction_id=world["pm_btc"].pk, calc_amount="100",
                       account1="U1234567", account2=BTC_ACCOUNT, cf1="client@example.org",
                       **extra)


@pytest.mark.django_db
@pytest.mark.parametrize("via", ["post", "get", "json"])
def test_every_method_answers_its_table_in_every_request_form(world, via):
    v1 = world["v1"]
    calls: dict[str, dict] = {
        "test": {}, "get_partner_info": {}, "get_partner_links": {},
        "get_partner_exchanges": {"status_history": "1"}, "get_partner_payouts": {},
        "get_direction_currencies": {}, "get_directions": {},
        "get_direction": {"direction_id": world["pm_btc"].pk},
        "get_calc": {"direction_id": world["pm_btc"].pk, "calc_amount": "100"},
    }
    answers = {method: v1(method, via, **params) for method, params in calls.items()}
    bid = btc_bid(world, via)
    answers["create_bid"] = bid
    token = bid["data"]["hash"]
    answers["bid_info"] = v1("bid_info", via, id=bid["data"]["id"])
    answers["pay_bid"] = v1("pay_bid", via, hash=token)
    answers["success_bid"] = v1("success_bid", via, hash=token)
    second = btc_bid(world, via)
    answers["cancel_bid"] = v1("cancel_bid", via, hash=second["data"]["hash"])
    answers["get_exchanges"] = v1("get_exchanges", via, status_history="1")
    answers["add_partner_payout"] = v1("add_partner_payout", via, method_id="999",
                                       account="T")
    for method in ALL_METHODS:
        if method == "add_partner_payout":
            continue  # refused (alice's balance went to her payout): its envelope below
        conforms_data(method, answers[method])
    refused = answers["add_partner_payout"]
    assert refused["error"] == 4 and refused["error_text"] and refused["error_fields"]
    # Lists that have items are checked item by item above; they are not empty here.
    assert answers["get_exchanges"]["data"]["items"][0]["statuses"]
    assert answers["get_partner_exchanges"]["data"]["items"][0]["statuses"]


@pytest.mark.django_db
def test_error_is_the_number_0_except_create_bids_string(world):
    v1 = world["v1"]
    response = v1.client.post(V1 + "get_directions", headers={
        "API-LOGIN": v1.key.login, "API-KEY": v1.raw})
    assert response.content.startswith(b'{"error":0,"error_text":""')
    response = v1.client.post(V1 + "create_bid", {
        "direction_id": world["pm_btc"].pk, "calc_amount": "100", "account1": "U1",
        "account2": BTC_ACCOUNT, "cf1": "c@example.org"},
        headers={"API-LOGIN": v1.key.login, "API-KEY": v1.raw})
    assert response.content.startswith(b'{"error":"0","error_text":""')
    # Failures are non-zero numbers, from create_bid too, with error_fields.
    refused = v1("create_bid", direction_id=world["pm_btc"].pk, calc_amount="1")
    assert refused["error"] == 4 and set(refused["error_fields"]) >= {"calc_amount", "cf1",
                                                                       "account1", "account2"}


@pytest.mark.django_db
def test_fields_keyed_by_premium_names_and_the_email_field_chosen_per_direction(world):
    v1 = world["v1"]
    data = v1("get_direction", direction_id=world["pm_btc"].pk)["data"]
    assert list(data["give_fields"]) == ["account1", "cfgive8"]
    assert list(data["get_fields"]) == ["account2"]
    assert list(data["dir_fields"]) == ["cf11", "cf1"]
    assert data["dir_fields"]["cf1"]["req"] == "1" and data["dir_fields"]["cf11"]["req"] == "0"
    assert data["give_fields"]["account1"]["label"] == "Your PM account"
    # Premium's type of a text field: its Telegram module asks only text, textarea, select
    # and checkbox fields (and sends nothing for any other type).
    assert {each["type"] for side in ("give_fields", "get_fields", "dir_fields")
            for each in data[side].values()} == {"text"}
    other = v1("get_direction", direction_id=world["pm_usdt"].pk)["data"]
    assert other["give_fields"] == [] and list(other["dir_fields"]) == ["cf6"]
    # By currency pair, without direction_id.
    pair = v1("get_direction", currency_id_give=world["pm_btc"].currency_give_id,
              currency_id_get=world["pm_btc"].currency_get_id)["data"]
    assert pair["id"] == str(world["pm_btc"].pk)
    # The e-mail is taken from cf1 on this direction; cf6 means nothing here.
    refused = v1("create_bid", direction_id=world["pm_btc"].pk, calc_amount="100",
                 account1="U1", account2=BTC_ACCOUNT, cf6="c@example.org")
    assert list(refused["error_fields"]) == ["cf1"]


@pytest.mark.django_db
def test_api_actions_for_manual_and_automatic_payment(world):
    v1 = world["v1"]
    made = btc_bid(world)["data"]
    manual = made["api_actions"]
    assert (manual["type"], manual["cancel"], manual["pay"]) == ("address", "api", "api")
    assert manual["address"] and manual["pay_amount"] == "100"
    # Premium's bid answers carry the rates, and the tag as dest_tag (its Telegram module
    # shows them); Obmin's memo is the same value.
    assert (made["course_give"], made["course_get"]) == ("100000", "1")
    assert manual["dest_tag"] == manual["memo"] == ""
    auto = v1("create_bid", direction_id=world["pm_usdt"].pk, calc_amount="100",
              account2="TXYZ", cf6="c@example.org")["data"]
    actions = auto["api_actions"]
    assert actions["type"] == "link" and actions["cancel"] == "api"
    assert actions["pay"].startswith("http") and actions["pay"] == auto["url"]
    # pay_bid is not for a bid paid on its page.
    assert v1("pay_bid", hash=auto["hash"])["error"] == 4
    assert v1("cancel_bid", hash=auto["hash"])["data"] == "cancel"
    cancelled = v1("bid_info", hash=auto["hash"])["data"]
    assert (cancelled["api_actions"]["cancel"], cancelled["api_actions"]["pay"]) == (
        "disabled", "disabled")
    # Nothing more to pay: Premium's type finished (its Telegram module then offers nothing).
    assert cancelled["api_actions"]["type"] == "finished"


@pytest.mark.django_db
def test_statuses_have_premium_names_and_titles_in_the_requests_language(world):
    v1 = world["v1"]
    bid = btc_bid(world)["data"]
    assert (bid["status"], bid["status_title"]) == ("new", "New bid")
    assert v1("pay_bid", hash=bid["hash"])["data"] == "payed"
    response = v1.client.post(V1 + "bid_info", {"hash": bid["hash"]}, headers={
        "API-LOGIN": v1.key.login, "API-KEY": v1.raw, "API-LANG": "uk_UA"})
    assert parse(response)["data"]["status_title"] != "Paid bid"
    assert set(TO_PREMIUM) == set(ExchangeStatus.values)


@pytest.mark.django_db
def test_every_get_exchanges_filter_is_applied(world):
    v1 = world["v1"]
    first = btc_bid(world, api_id="a-1", user_ip="198.51.100.7")["data"]
    second = btc_bid(world, api_id="a-2", user_ip="198.51.100.8")["data"]
    third = btc_bid(world, api_id="a-3")["data"]
    v1("cancel_bid", hash=third["hash"])

    def ids(**params: Any) -> list[str]:
        answer = v1("get_exchanges", **params)
        assert answer["error"] == 0, answer
        return [item["id"] for item in answer["data"]["items"]]

    assert ids() == [third["id"], second["id"], first["id"]]  # newest first
    assert ids(id=first["id"]) == [first["id"]]
    assert ids(api_id="a-2") == [second["id"]]
    # Lists, as Premium's PHP reads them (a bot polls its open bids in one call), and hash.
    assert ids(id=f"{first['id']},{third['id']}") == [third["id"], first["id"]]
    assert ids(api_id="a-1,a-3") == [third["id"], first["id"]]
    assert ids(hash=second["hash"]) == [second["id"]]
    assert ids(ip="198.51.100.7") == [first["id"]]
    assert ids(status="cancel") == [third["id"]]
    assert ids(status="new,payed") == [second["id"], first["id"]]
    assert ids(status="realpay") == []
    assert ids(limit="1") == [third["id"]]
    assert ids(limit="1", offset="1") == [second["id"]]
    assert ids(start_time="4102444800") == []  # 2100
    assert ids(end_time="0") == []
    items = v1("get_exchanges")["data"]["items"]
    assert "statuses" not in items[0]
    items = v1("get_exchanges", status_history="1")["data"]["items"]
    assert [s["status"] for s in items[0]["statuses"]] == ["new", "cancel"]
    assert items[0]["api_id"] == "a-3"
    # An api_id with a comma of its own, as create_bid kept it, is found whole too.
    comma = btc_bid(world, api_id="order,7")["data"]
    assert ids(api_id="order,7") == [comma["id"]]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "params", "field"), [
    ("get_exchanges", {"id": "x"}, "id"),
    ("get_exchanges", {"id": "1,x"}, "id"),
    ("get_exchanges", {"ip": "nope"}, "ip"),
    ("get_exchanges", {"status": "paid"}, "status"),
    ("get_exchanges", {"status_history": "yes"}, "status_history"),
    ("get_exchanges", {"limit": "-1"}, "limit"),
    ("get_exchanges", {"offset": "a"}, "offset"),
    ("get_exchanges", {"start_time": "yesterday"}, "start_time"),
    ("get_exchanges", {"end_time": "1e9"}, "end_time"),
    ("get_partner_exchanges", {"id": "0"}, "id"),
    ("get_partner_exchanges", {"status_history": "2"}, "status_history"),
    ("get_partner_exchanges", {"ip": "1.2.3"}, "ip"),
    ("get_partner_exchanges", {"status": "done"}, "status"),
    ("get_partner_links", {"ip": "x"}, "ip"),
    ("get_partner_links", {"limit": "0"}, "limit"),
    ("get_partner_payouts", {"id": "-3"}, "id"),
    ("get_directions", {"currency_id_give": "BTC"}, "currency_id_give"),
    ("get_direction_currencies", {"currency_id_get": "1.5"}, "currency_id_get"),
    ("get_calc", {"calc_action": "5"}, "calc_action"),
    ("create_bid", {"user_ip": "localhost"}, "user_ip"),
])
def test_malformed_filters_are_refused_by_name(world, method, params, field):
    v1 = world["v1"]
    if method in ("get_calc", "create_bid"):
        params = {"direction_id": world["pm_btc"].pk, "calc_amount": "100", **params}
    answer = v1(method, **params)
    assert answer["error"] == 4, answer
    assert field in answer["error_fields"], answer


@pytest.mark.django_db
def test_partner_lists_filters(world, history):
    v1 = world["v1"]
    success = history["exchanges"][0]
    items = v1("get_partner_exchanges", status="success")["data"]["items"]
    assert [item["id"] for item in items] == [str(success.pk)]
    assert items[0]["status"] == "success" and items[0]["exchange_success"] == "1"
    assert "statuses" not in items[0]
    assert v1("get_partner_exchanges", id=str(success.pk))["data"]["items"][0]["id"] == str(
        success.pk)


@pytest.mark.django_db
def test_calc_actions_three_and_four_with_commissions(world):
    v1 = world["v1"]
    direction = world["pm_usdt"]  # 1 PMUSD : 0.98 USDT
    direction.fee_give_percent = Decimal(1)
    direction.fee_get = Decimal("0.5")
    direction.save()
    calc = {n: v1("get_calc", direction_id=direction.pk, calc_amount="100",
                  calc_action=str(n))["data"] for n in (1, 2, 3, 4)}
    # 3: the customer pays 100 with the commission; 1% of it goes, 99 is exchanged.
    assert (calc[3]["sum_give_com"], calc[3]["sum_give"]) == ("100", "99")
    assert (calc[3]["sum_get"], calc[3]["sum_get_com"]) == ("97.02", "96.52")
    assert calc[3]["com_give"] == "1%" and calc[3]["com_get"] == "0.5 USDTTRC20"
    # 1: 100 is exchanged, so the customer pays 100 / 0.99.
    assert calc[1]["sum_give"] == "100" and calc[1]["sum_give_com"] == "101.02"
    # 4: the customer gets 100 in hand; 2: 100 before the fixed fee.
    assert Decimal(calc[4]["sum_get_com"]) >= 100
    assert Decimal(calc[2]["sum_get"]) >= 100 and Decimal(calc[2]["sum_get_com"]) < Decimal(
        calc[4]["sum_get_com"])
    assert all(each["changed"] == "0" for each in calc.values())


@pytest.mark.django_db
def test_cancel_pay_and_success_answer_the_new_status_by_id_or_hash_and_again(world):
    """As Premium's PHP: `data` is the new status's name; the bid is found by `id` (as
    Premium's own Telegram module sends it) or `hash`; asked again in that status, the same
    answer (a bot retrying after a timeout is not refused)."""
    v1 = world["v1"]
    bid = btc_bid(world)["data"]
    for _twice in range(2):
        assert v1("pay_bid", id=bid["id"]) == {"error": 0, "error_text": "", "data": "payed"}
    # The operator confirms the payment.
    exchange_set_status(exchange_id=int(bid["id"]), status=ExchangeStatus.RECEIVED,
                        actor="carol")
    for _twice in range(2):
        assert v1("success_bid", hash=bid["hash"])["data"] == "success"
    other = btc_bid(world)["data"]
    for _twice in range(2):
        assert v1("cancel_bid", "get", id=other["id"])["data"] == "cancel"
    # A status the bid cannot reach is refused, naming the bid.
    refused = v1("pay_bid", id=other["id"])
    assert refused["error"] == 4 and set(refused["error_fields"]) == {"hash"}
    assert v1("cancel_bid")["error"] == 4
    assert v1("cancel_bid", id="999999") == {"error": 6, "error_text": "No bid exists",
                                             "data": {}}


@pytest.mark.django_db
def test_get_exchanges_items_carry_the_keys_own_reward_as_get_partner_exchanges(world):
    """Contract 4b: get_exchanges' items are get_partner_exchanges' plus api_id, so accrued and
    partner_reward too: the key's partner's own, "0" for a bid credited to another partner."""
    v1 = world["v1"]
    ApiKey.objects.filter(pk=v1.key.pk).update(may_name_partners=True)
    own = btc_bid(world, partner_id=str(world["alice"].pk))["data"]
    bobs = btc_bid(world, partner_id=str(world["bob"].pk))["data"]
    for bid in (own, bobs):
        v1("pay_bid", id=bid["id"])
        exchange_set_status(exchange_id=int(bid["id"]), status=ExchangeStatus.SUCCESS,
                            actor="carol")
    items = {item["id"]: item for item in v1("get_exchanges")["data"]["items"]}
    alices = Exchange.objects.get(pk=int(own["id"]))
    assert alices.partner_reward > 0 and alices.reward_accrued
    assert (items[own["id"]]["partner_reward"], items[own["id"]]["accrued"]) == (
        plain(alices.partner_reward), "1")
    assert Exchange.objects.get(pk=int(bobs["id"])).partner_reward > 0
    assert (items[bobs["id"]]["partner_reward"], items[bobs["id"]]["accrued"]) == ("0", "0")


@pytest.mark.django_db
def test_unset_limits_are_no_and_set_ones_are_amounts(world):
    v1 = world["v1"]
    direction = world["pm_usdt"]  # 1 PMUSD : 0.98 USDT
    direction.min_amount = Decimal(0)
    direction.max_amount = Decimal(0)
    direction.save()
    for method, params in (("get_direction", {}), ("get_calc", {"calc_amount": "50"})):
        data = v1(method, direction_id=direction.pk, **params)["data"]
        assert [data[name] for name in ("min_give", "max_give", "min_get", "max_get")] == [
            "no"] * 4, (method, data)
    direction.min_amount = Decimal(10)
    direction.max_amount = Decimal(1000)
    direction.save()
    data = v1("get_calc", direction_id=direction.pk, calc_amount="5000")["data"]
    assert [data[name] for name in ("min_give", "max_give", "min_get", "max_get")] == [
        "10", "1000", "9.8", "980"]
    assert (data["sum_give"], data["changed"]) == ("1000", "1")
