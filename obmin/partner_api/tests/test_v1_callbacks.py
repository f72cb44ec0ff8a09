"""API v1 over a live server, and a bid's callback_url POSTed on each status change, with
retries, to a live local receiver."""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from obmin.exchange.accounts import EXAMPLES, AccountFormat
from obmin.exchange.services import exchange_set_status
from obmin.partner_api.models import ApiKey, BidCallback
from obmin.partner_api.services import apikey_create
from obmin.partner_api.v1.bids import bid_callbacks_deliver


class Receiver:
    """A bot's callback endpoint: answers the statuses given, in turn, and keeps each body."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.bodies: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                receiver.bodies.append(dict(urllib.parse.parse_qsl(body)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?bot=1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    # The receiver listens on loopback, which netguard refuses unless told otherwise.
    settings.POSTBACK_ALLOW_PRIVATE = True
    made = Receiver([500, 200])
    yield made
    made.close()


def post(url: str, headers: dict[str, str], params: dict[str, object]) -> tuple[int, dict]:
    data = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.django_db(transaction=True)
def test_live_server_bid_and_callback_delivered_after_a_retry(live_server, receiver, alice,
                                                               bob, pm_btc, btc, program):
    btc.account_format = AccountFormat.BITCOIN
    btc.save()
    key, raw = apikey_create(partner=alice)
    ApiKey.objects.filter(pk=key.pk).update(may_name_partners=True)
    headers = {"API-LOGIN": key.login, "API-KEY": raw}
    url = live_server.url + "/api/userapi/v1/"

    status, answer = post(url + "test", headers, {})
    assert (status, answer["error"], answer["data"]["partner_id"]) == (200, 0, str(alice.pk))
    status, answer = post(url + "test", {**headers, "API-KEY": "obm_live_x"}, {})
    assert (status, answer["error"], answer["error_text"]) == (200, 1, "Api disabled")

    status, answer = post(url + "create_bid", headers, {
        "direction_id": pm_btc.pk, "calc_amount": "1000", "cf6": "client@example.org",
        "account2": EXAMPLES[AccountFormat.BITCOIN], "partner_id": bob.pk,
        "api_id": "tg-42", "callback_url": receiver.url})
    assert (status, answer["error"]) == (200, "0"), answer
    bid = answer["data"]

    exchange_set_status(exchange_id=int(bid["id"]), status="paid", actor="customer")
    exchange_set_status(exchange_id=int(bid["id"]), status="success", actor="carol")
    assert list(BidCallback.objects.values_list("status", flat=True)) == ["paid", "success"]

    # First round: only the bid's first callback (its statuses arrive in order); the
    # receiver answers 500 to it.
    assert bid_callbacks_deliver() == 1
    failed = BidCallback.objects.get(status="paid")
    assert (failed.attempts, failed.delivered_at, failed.last_error) == (1, None, "HTTP 500")
    assert failed.next_attempt_at > timezone.now() + timedelta(seconds=30)
    # Not due yet, and `success` waits behind it: nothing is sent.
    assert bid_callbacks_deliver() == 0
    assert BidCallback.objects.get(status="success").attempts == 0
    BidCallback.objects.filter(pk=failed.pk).update(next_attempt_at=timezone.now())
    assert bid_callbacks_deliver() == 1
    failed.refresh_from_db()
    assert failed.delivered_at is not None and failed.attempts == 2
    assert bid_callbacks_deliver() == 1  # now `success`
    assert BidCallback.objects.get(status="success").delivered_at is not None

    # Premium's status names and fields, in the order of the statuses.
    assert [body["status"] for body in receiver.bodies] == ["payed", "payed", "success"]
    body = receiver.bodies[2]
    assert body["bid_id"] == bid["id"] and body["hash"] == bid["hash"]
    assert body["api_id"] == "tg-42" and body["cf6"] == "client@example.org"

    status, answer = post(url + "bid_info", headers, {"id": bid["id"]})
    assert answer["data"]["status"] == "success"


@pytest.mark.django_db
def test_a_callback_is_given_up_after_the_attempts(receiver, alice, pm_btc, settings, client):
    settings.PARTNER_API_CALLBACK_ATTEMPTS = 2
    receiver.statuses = [503, 503, 503]
    key, raw = apikey_create(partner=alice)
    response = client.post("/api/userapi/v1/create_bid", {
        "direction_id": pm_btc.pk, "calc_amount": "100", "cf6": "c@example.org",
        "account2": "anything", "callback_url": receiver.url},
        headers={"API-LOGIN": key.login, "API-KEY": raw})
    bid = json.loads(response.content)["data"]
    exchange_set_status(exchange_id=int(bid["id"]), status="cancelled")
    bid_callbacks_deliver()
    BidCallback.objects.update(next_attempt_at=timezone.now())
    bid_callbacks_deliver()
    callback = BidCallback.objects.get()
    assert (callback.attempts, callback.next_attempt_at, callback.delivered_at) == (2, None,
                                                                                   None)
    assert bid_callbacks_deliver() == 0


@pytest.mark.django_db
def test_an_address_that_turned_private_is_refused_at_delivery(receiver, alice, pm_btc,
                                                               settings, client):
    key, raw = apikey_create(partner=alice)
    response = client.post("/api/userapi/v1/create_bid", {
        "direction_id": pm_btc.pk, "calc_amount": "100", "cf6": "c@example.org",
        "account2": "anything", "callback_url": receiver.url},
        headers={"API-LOGIN": key.login, "API-KEY": raw})
    bid = json.loads(response.content)["data"]
    settings.POSTBACK_ALLOW_PRIVATE = False
    exchange_set_status(exchange_id=bid["id"], status="cancelled")
    bid_callbacks_deliver()
    callback = BidCallback.objects.get()
    assert callback.delivered_at is None and "127.0.0.1" in callback.last_error
    assert receiver.bodies == []


def test_the_worker_runs_the_callbacks():
    from obmin.ops.worker import duties

    assert any(duty.run is bid_callbacks_deliver for duty in duties())
