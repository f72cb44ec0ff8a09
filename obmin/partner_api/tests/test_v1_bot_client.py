"""A client written the way real Premium bots are (plain httpx against a running server,
`error` compared exactly as each method's PHP sends it, ids read as text, api_actions
followed), walking a whole exchange and a cancellation; and a bot's volume of bids through one
key with the default settings."""

from __future__ import annotations

import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import time_machine
from django.utils import timezone

from obmin.exchange.accounts import EXAMPLES, AccountFormat
from obmin.exchange.models import DirectionField, ExchangeStatus
from obmin.exchange.services import exchange_set_status
from obmin.partner_api.models import ApiKey, BidCallback
from obmin.partner_api.services import apikey_create
from obmin.partner_api.v1.bids import bid_callbacks_deliver

BTC_ACCOUNT = EXAMPLES[AccountFormat.BITCOIN]


class CallbackReceiver:
    """The bot's callback endpoint on a real local port; keeps each POSTed form."""

    def __init__(self) -> None:
        self.forms: list[dict[str, str]] = []
        forms = self.forms

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                forms.append(dict(urllib.parse.parse_qsl(body.decode())))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/premium/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class PremiumBot:
    """What an exchange bot for Premium does: POST form bodies with API-LOGIN / API-KEY, and
    `error` compared as Premium's PHP sends it (create_bid's "0", the rest 0)."""

    def __init__(self, base: str, login: str, key: str) -> None:
        self.http = httpx.Client(base_url=base + "/api/userapi/v1/", timeout=10,
                                 headers={"API-LOGIN": login, "API-KEY": key,
                                          "API-LANG": "en_US"})

    def call(self, method: str, **params: Any) -> Any:
        answer = self.http.post(method, data=params).json()
        ok = answer["error"] == "0" if method == "create_bid" else answer["error"] == 0
        if not ok:
            raise RuntimeError(f"{method}: {answer['error_text']} {answer.get('error_fields')}")
        return answer["data"]

    def get(self, method: str) -> Any:
        """Premium's Telegram module calls parameterless methods with a plain GET."""
        answer = self.http.get(method).json()
        assert answer["error"] == 0, answer
        return answer["data"]


@pytest.fixture
def receiver(settings):
    settings.POSTBACK_ALLOW_PRIVATE = True  # the receiver listens on loopback
    made = CallbackReceiver()
    yield made
    made.close()


@pytest.fixture
def bot_world(alice, bob, pm_btc, btc, program):
    btc.account_format = AccountFormat.BITCOIN
    btc.save()
    DirectionField.objects.create(direction=pm_btc, name="account1", label="PM account")
    DirectionField.objects.create(direction=pm_btc, name="cfgive8", label="Cardholder")
    DirectionField.objects.create(direction=pm_btc, name="cf11", label="Telegram",
                                  required=False)
    # The exchanger's own bot key: may credit its partners and complete bids.
    key, raw = apikey_create(partner=alice, name="exchange bot")
    ApiKey.objects.filter(pk=key.pk).update(may_name_partners=True, may_complete_bids=True)
    return key, raw


@pytest.mark.django_db(transaction=True)
def test_a_bot_walks_an_exchange_to_success_with_its_callbacks(live_server, receiver,
                                                               bot_world, bob, pm_btc):
    key, raw = bot_world
    bot = PremiumBot(live_server.url, key.login, raw)
    assert bot.get("test")["partner_id"] == str(key.partner_id)

    currencies = bot.call("get_direction_currencies")
    give = next(c for c in currencies["give"] if c["title"] == "Perfect Money USD")
    get = next(c for c in bot.call("get_direction_currencies",
                                   currency_id_give=give["id"])["get"]
               if c["title"] == "Bitcoin")
    directions = {"dir_" + d["direction_id"]: d for d in bot.call(
        "get_directions", currency_id_give=give["id"], currency_id_get=get["id"])}
    (callback_data, chosen), = directions.items()
    direction = bot.call("get_direction", direction_id=chosen["direction_id"])
    assert direction["id"] == chosen["direction_id"] == str(pm_btc.pk)
    asked = {**(direction["give_fields"] or {}), **(direction["get_fields"] or {}),
             **(direction["dir_fields"] or {})}
    assert set(asked) == {"account1", "cfgive8", "account2", "cf11", "cf6"}

    # 1 and 3: PMUSD given; 2 and 4: BTC received.
    for action, amount in (("1", "100"), ("2", "0.001"), ("3", "100"), ("4", "0.001")):
        calc = bot.call("get_calc", direction_id=direction["id"], calc_amount=amount,
                        calc_action=action)
        assert calc["changed"] == "0" and calc["currency_code_give"] == "PMUSD"
    assert bot.call("get_calc", direction_id=direction["id"], calc_amount="1")["changed"] == "1"

    answers = {"account1": "U1234567", "cfgive8": "IVAN PETRENKO", "account2": BTC_ACCOUNT,
               "cf11": "@ivan", "cf6": "ivan@example.org"}
    bid = bot.call("create_bid", direction_id=direction["id"], calc_amount="100",
                   calc_action="1", partner_id=str(bob.pk), api_id="tg-7001",
                   callback_url=receiver.url, user_ip="203.0.113.50",
                   **{name: answers[name] for name in asked})
    assert bid["status"] == "new" and bid["api_actions"]["pay"] == "api"
    info = bot.call("bid_info", id=bid["id"])
    assert info["hash"] == bid["hash"] and info["amount_give"] == "100"

    if info["api_actions"]["pay"] == "api":
        assert bot.call("pay_bid", hash=bid["hash"]) == "payed"
    paid = bot.call("bid_info", id=bid["id"])
    assert paid["api_actions"]["cancel"] == "disabled"  # a paid bid is never cancelled
    exchange_set_status(exchange_id=int(bid["id"]), status=ExchangeStatus.RECEIVED,
                        actor="carol")
    assert bot.call("bid_info", hash=bid["hash"])["status"] == "realpay"
    assert bot.call("success_bid", hash=bid["hash"]) == "success"

    while BidCallback.objects.filter(delivered_at__isnull=True).exists():
        assert bid_callbacks_deliver() > 0
    assert [form["status"] for form in receiver.forms] == ["payed", "realpay", "success"]
    last = receiver.forms[-1]
    assert {name: last[name] for name in ("bid_id", "account1", "account2", "cfgive8", "cf6",
                                          "cf11", "hash")} == {
        "bid_id": bid["id"], **answers, "hash": bid["hash"]}

    by_id = bot.call("get_exchanges", id=bid["id"], status_history="1")["items"]
    by_api_id = bot.call("get_exchanges", api_id="tg-7001", status_history="1")["items"]
    assert by_id == by_api_id and len(by_id) == 1
    assert by_id[0]["user_ip"] == "203.0.113.50" and by_id[0]["exchange_success"] == "1"
    assert [s["status"] for s in by_id[0]["statuses"]] == ["new", "payed", "realpay",
                                                           "success"]
    # bob was named and the customer was bound to nobody: bob's exchange.
    assert bob.exchanges.filter(pk=int(bid["id"])).exists()


@pytest.mark.django_db(transaction=True)
def test_a_bot_cancels_a_bid_its_customer_gave_up(live_server, bot_world, pm_btc):
    key, raw = bot_world
    bot = PremiumBot(live_server.url, key.login, raw)
    bid = bot.call("create_bid", direction_id=str(pm_btc.pk), calc_amount="50",
                   account1="U1", cfgive8="A B", account2=BTC_ACCOUNT, cf6="a@example.org")
    if bid["api_actions"]["cancel"] == "api":
        # By id, as Premium's own Telegram module calls it.
        assert bot.call("cancel_bid", id=bid["id"]) == "cancel"
    assert bot.call("bid_info", hash=bid["hash"])["api_actions"]["pay"] == "disabled"
    with pytest.raises(RuntimeError, match="pay_bid"):
        bot.call("pay_bid", hash=bid["hash"])  # a cancelled bid is never paid
    assert bot.call("bid_info", id=bid["id"])["status"] == "cancel"


@pytest.mark.django_db
def test_five_hundred_bids_in_an_hour_through_one_key_with_default_settings(client, alice,
                                                                            pm_usdt):
    """As a bot's rush hour (or a harness) sends them: one after another, within minutes. The
    key's bid limit counts them, not the limit of requests per minute meant for reading."""
    key, raw = apikey_create(partner=alice, name="busy bot")
    headers = {"API-LOGIN": key.login, "API-KEY": raw}
    for n in range(500):
        response = client.post("/api/userapi/v1/create_bid", {
            "direction_id": pm_usdt.pk, "calc_amount": "10", "account2": "TBOT",
            "cf6": f"customer{n}@example.org", "user_ip": f"198.51.{n // 250}.{n % 250}"},
            headers=headers)
        assert response.json()["error"] == "0", (n, response.json())
    assert alice.api_keys.get().bids.count() == 500


@pytest.mark.django_db
def test_a_bots_customers_browse_through_one_key_beyond_sixty_a_minute(client, alice, pm_usdt):
    """Each customer of a bot lists currencies and directions and asks the calculator: with
    default settings one key answers a hundred customers' steps within a minute. The partner
    statistics keep their own limit (PARTNER_API_RATE)."""
    key, raw = apikey_create(partner=alice, name="busy bot")
    headers = {"API-LOGIN": key.login, "API-KEY": raw}
    for n in range(100):
        method, params = [("get_direction_currencies", {}), ("get_directions", {}),
                          ("get_direction", {"direction_id": pm_usdt.pk}),
                          ("get_calc", {"direction_id": pm_usdt.pk, "calc_amount": "50"}),
                          ][n % 4]
        response = client.post(f"/api/userapi/v1/{method}", params, headers=headers)
        assert response.json()["error"] == 0, (n, response.json())
    # One moment for all 61: a minute's window of the limit may not end between them.
    with time_machine.travel(timezone.now(), tick=False):
        statistics = [client.post("/api/userapi/v1/get_partner_info", headers=headers).json()
                      for _each in range(61)]
    assert statistics[59]["error"] == 0 and statistics[60]["error"] == 5


@pytest.mark.django_db
def test_create_bid_through_a_key_without_it_is_counted_like_the_other_methods(
        client, alice, settings):
    """Only a key that may create bids has create_bid counted by its bid limit alone; a key
    without it is answered "Method not supported", counted as any exchange method."""
    settings.PARTNER_API_EXCHANGE_RATE = "3/m"
    key, raw = apikey_create(partner=alice, name="reader", methods=["get_directions"])
    headers = {"API-LOGIN": key.login, "API-KEY": raw}
    with time_machine.travel(timezone.now(), tick=False):
        answers = [client.post("/api/userapi/v1/create_bid", headers=headers)
                   for _each in range(4)]
    assert [a.json()["error"] for a in answers] == [3, 3, 3, 5]
    assert answers[3].status_code == 429
