"""Every method's fields and JSON types, as section 4 of the contract pins them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.lib.timeutil import utc_date
from obmin.partner_api.tests.conftest import T0
from obmin.testing.factories import usable_wallet

NUMBER = (int, float)
ENVELOPE = {"status", "error", "error_text", "data"}
SOURCE = {"sub1": str, "sub2": str, "sub3": str, "sub4": str, "sub5": str, "country": str}
CLICK = {"id": int, "time": int, "date": str, "browser": str, "ip": str, "referrer": str,
         "user_hash": str, "query_string": str, **SOURCE}
EXCHANGE = {"id": int, "time": int, "date": str, "course_give": NUMBER, "course_get": NUMBER,
            "amount_give": NUMBER, "amount_get": NUMBER, "exchange_success": int,
            "accrued": int, "partner_reward": NUMBER, "user_hash": str,
            "currency_code_give": str, "currency_code_get": str, "status": str,
            "statuses": list, **SOURCE, "updated_time": int}
STATUS = {"time": int, "date": str, "status": str}
PAYOUT = {"id": int, "time": int, "date": str, "method_id": int, "account": str,
          "pay_amount": NUMBER, "pay_currency_code": str, "original_amount": NUMBER,
          "original_currency_code": str, "status": int}
INFO = {"balance": NUMBER, "balance_pending": NUMBER, "totalReceived": NUMBER, "link": str,
        "min_payout": NUMBER, "items": dict}
METHOD = {"id": int, "title": str, "comission": str, "amount": NUMBER}


def assert_shape(item: dict, shape: dict) -> None:
    assert set(item) == set(shape), set(item) ^ set(shape)
    for name, kind in shape.items():
        assert isinstance(item[name], kind), (name, item[name])
        assert not isinstance(item[name], bool), name


def assert_success(response, body) -> dict:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert set(body) == ENVELOPE
    assert (body["status"], body["error"], body["error_text"]) == ("success", 0, "")
    return body["data"]


@pytest.mark.parametrize("via", ["get", "post", "header"])
def test_get_info(api, history, alice, alice_key, usdt_method, via):
    # alice has no balance left: her payout held it all. Give her another 20 USD reward.
    data = assert_success(*api(alice_key, "get_info", via=via))
    assert_shape(data, INFO)
    assert data["link"] == alice.referral_link
    assert data["min_payout"] == 10
    assert data["balance"] == 0 and data["totalReceived"] == 0
    assert data["balance_pending"] == 0
    assert list(data["items"]) == [str(usdt_method.pk)]
    method = data["items"][str(usdt_method.pk)]
    assert_shape(method, METHOD)
    assert method == {"id": usdt_method.pk, "title": "USDT TRC20", "comission": "1%",
                      "amount": 0}


def test_get_info_counts_balance_and_paid(api, history, alice, alice_key, usdt_method):
    from obmin.rewards.services import payout_mark_paid

    payout_mark_paid(payout_id=history["payout"].pk)
    _r, body = api(alice_key, "get_info")
    # 5000 PMUSD at 2% profit = 100 USD; 20% of it = 20 USD, paid out.
    assert body["data"]["totalReceived"] == 20
    assert body["data"]["balance"] == 0


@pytest.mark.parametrize("via", ["get", "post", "header"])
def test_get_exchanges(api, history, alice_key, via):
    data = assert_success(*api(alice_key, "get_exchanges", via=via))
    success, cancelled, new = history["exchanges"]
    # Newest first, as Premium lists them.
    assert list(data["items"]) == [str(e.pk) for e in (new, cancelled, success)]
    for item in data["items"].values():
        assert_shape(item, EXCHANGE)
        for change in item["statuses"]:
            assert_shape(change, STATUS)
    item = data["items"][str(success.pk)]
    assert item["id"] == success.pk
    assert item["time"] == T0 + 100 and item["date"] == "2024-06-01 00:01:40"
    assert item["course_give"] == 100000 and item["course_get"] == 1
    assert item["amount_give"] == 5000 and item["amount_get"] == 0.05
    assert (item["exchange_success"], item["accrued"], item["status"]) == (1, 1, "success")
    assert item["partner_reward"] == 20
    assert item["user_hash"] == "u1"
    assert (item["currency_code_give"], item["currency_code_get"]) == ("PMUSD", "BTC")
    assert [s["status"] for s in item["statuses"]] == ["new", "success"]
    assert item["statuses"][0] == {"time": T0 + 100, "date": "2024-06-01 00:01:40",
                                   "status": "new"}
    other = data["items"][str(cancelled.pk)]
    assert (other["exchange_success"], other["accrued"], other["partner_reward"]) == (0, 0, 0)
    assert other["amount_give"] == 25.5


def test_numbers_are_written_exactly(api, history, alice_key):
    """Decimals go out as their digits, never through a float."""
    response, _body = api(alice_key, "get_exchanges")
    raw = response.body.decode()
    assert '"amount_give":25.5,' in raw and '"amount_get":0.000255,' in raw
    assert '"course_give":100000,' in raw and "e-" not in raw.lower().replace("new", "")


@pytest.mark.parametrize("via", ["get", "post", "header"])
def test_get_links(api, history, alice_key, via):
    data = assert_success(*api(alice_key, "get_links", via=via))
    clicks = history["clicks"]
    # The crawler's click is kept for the operator but never listed.
    assert list(data["items"]) == [str(c.pk) for c in reversed(clicks)]  # newest first
    for item in data["items"].values():
        assert_shape(item, CLICK)
    first = data["items"][str(clicks[0].pk)]
    assert first == {"id": clicks[0].pk, "time": T0, "date": utc_date(clicks[0].created_at),
                     "browser": "Chrome 124", "ip": "203.0.113.0",
                     "referrer": "https://mon.example/", "user_hash": "a0",
                     "query_string": "cur_from=PMUSD&cur_to=BTC", "sub1": "", "sub2": "",
                     "sub3": "", "sub4": "", "sub5": "", "country": ""}


def test_get_links_ip_filter(api, history, alice_key):
    _r, body = api(alice_key, "get_links", ip="198.51.100.0")
    assert list(body["data"]["items"]) == [str(history["clicks"][1].pk)]
    _r, body = api(alice_key, "get_links", ip="192.0.2.1")
    assert body["data"]["items"] == {}


@pytest.mark.parametrize("via", ["get", "post", "header"])
def test_get_payouts(api, history, alice_key, usdt_method, via):
    data = assert_success(*api(alice_key, "get_payouts", via=via))
    payout = history["payout"]
    assert list(data["items"]) == [str(payout.pk)]
    item = data["items"][str(payout.pk)]
    assert_shape(item, PAYOUT)
    assert item == {"id": payout.pk, "time": T0 + 7200, "date": "2024-06-01 02:00:00",
                    "method_id": usdt_method.pk, "account": "TQalice", "pay_amount": 19.8,
                    "pay_currency_code": "USDT", "original_amount": 20,
                    "original_currency_code": "USD", "status": 0}


@pytest.mark.parametrize("method", ["get_exchanges", "get_links", "get_payouts"])
def test_inclusive_time_bounds(api, history, alice_key, method):
    """Items exactly at start_time and at end_time are included; one second off, they are not."""
    times = {"get_exchanges": (T0 + 100, T0 + 200), "get_links": (T0, T0 + 10),
             "get_payouts": (T0 + 7200, T0 + 7200)}[method]
    start, end = times
    _r, body = api(alice_key, method, start_time=start, end_time=end)
    got = sorted(item["time"] for item in body["data"]["items"].values())
    assert got[0] == start and got[-1] == end
    _r, body = api(alice_key, method, start_time=start + 1, end_time=end - 1)
    assert all(start < item["time"] < end for item in body["data"]["items"].values())
    _r, body = api(alice_key, method, start_time=end + 1, end_time=end + 2)
    assert body["data"]["items"] == {}


def test_only_start_or_only_end(api, history, alice_key):
    clicks = history["clicks"]
    _r, body = api(alice_key, "get_links", start_time=T0 + 3600)
    assert list(body["data"]["items"]) == [str(clicks[3].pk), str(clicks[2].pk)]
    _r, body = api(alice_key, "get_links", end_time=T0 + 10, start_time="")
    assert list(body["data"]["items"]) == [str(clicks[1].pk), str(clicks[0].pk)]


def test_limit_and_offset_page_in_order(api, history, alice_key):
    clicks = [str(c.pk) for c in reversed(history["clicks"])]  # newest first
    pages = []
    for offset in range(0, 5, 2):
        _r, body = api(alice_key, "get_links", limit=2, offset=offset)
        pages.extend(body["data"]["items"])
    assert pages == clicks


def test_empty_items_is_an_object(api, bob, bob_key):
    for method in ("get_exchanges", "get_links", "get_payouts"):
        response, body = api(bob_key, method)
        assert body["data"] == {"items": {}}
        assert b'"items":{}' in response.body


def test_add_payout(api, alice, alice_key, history, pm_btc, usdt_method):
    from obmin.partner_api.tests.conftest import make_exchange
    from obmin.rewards.models import Payout
    from obmin.rewards.selectors import partner_balance

    make_exchange(pm_btc, alice, T0 + 300, "5000", status="success")
    assert partner_balance(alice) == Decimal(20)
    usable_wallet(alice, usdt_method.pk, "TQalice2")
    data = assert_success(*api(alice_key, "add_payout", via="post", method_id=usdt_method.pk,
                               account="TQalice2"))
    assert set(data) == {"payout_id"} and isinstance(data["payout_id"], int)
    payout = Payout.objects.get(pk=data["payout_id"])
    assert (payout.partner, payout.account, payout.original_amount) == (alice, "TQalice2", 20)
    assert partner_balance(alice) == 0


def test_tiny_and_large_amounts_have_no_exponent(api, history, alice_key):
    from obmin.exchange.models import Exchange

    exchange = history["exchanges"][2]
    Exchange.objects.filter(pk=exchange.pk).update(
        amount_get=Decimal("0.00001"), rate_give=Decimal("10000000000000000"),
        partner_reward=Decimal("1234567890.12"))
    response, body = api(alice_key, "get_exchanges")
    item = body["data"]["items"][str(exchange.pk)]
    raw = response.body.decode()
    assert '"amount_get":0.00001,' in raw and '"course_give":10000000000000000,' in raw
    assert '"partner_reward":1234567890.12,' in raw
    assert item["amount_get"] == 0.00001


@pytest.mark.parametrize("method", ["get_links", "get_exchanges", "get_payouts"])
def test_end_time_includes_its_whole_second(api, history, alice_key, method):
    """Stored times keep microseconds; an item reported at `time` T is in `end_time=T`."""
    from datetime import timedelta

    from obmin.exchange.models import Exchange
    from obmin.lib.timeutil import from_unix
    from obmin.partners.models import Click
    from obmin.rewards.models import Payout

    moment = from_unix(T0 + 50_000) + timedelta(microseconds=999_000)
    model = {"get_links": Click, "get_exchanges": Exchange, "get_payouts": Payout}[method]
    row = model.objects.filter(partner__ref_code="alice001").first()
    model.objects.filter(pk=row.pk).update(created_at=moment)
    _r, body = api(alice_key, method, start_time=T0 + 50_000, end_time=T0 + 50_000)
    assert list(body["data"]["items"]) == [str(row.pk)]
    assert body["data"]["items"][str(row.pk)]["time"] == T0 + 50_000
