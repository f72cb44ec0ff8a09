"""Issue 28.13: on SQLite (the embedded default) concurrent requests and the worker never give
a "database is locked" 500 on a money path. Every write path begins as a writer (Django's
`transaction_mode=IMMEDIATE`: an atomic block takes the write lock at BEGIN, waiting up to the
busy timeout, instead of reading first and failing at once when it must write).

Real processes, as an operator runs them: `obmin serve` (two processes of four threads) and
`obmin worker` on one SQLite file, three clients each creating bids and then, all at once,
cancelling and paying them through API v1, pressing "I have paid" on the exchange page and
asking api.php for a payout.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from django.db import connection

from obmin.exchange.accounts import EXAMPLES

OBMIN = str(Path(sys.executable).with_name("obmin"))
ROUNDS = 8
CLIENTS = 3

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite",
                                reason="the SQLite production setup (its own file)")


def test_no_500_on_any_money_path_under_concurrency(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(OBMIN_DATA_DIR=str(tmp_path), POSTBACK_ALLOW_PRIVATE="1", ACCESS_LOG="0",
               EXCHANGE_RATE_PER_IP="100000/h", EXCHANGE_RATE_PER_VISITOR="100000/h",
               PARTNER_API_RATE="100000/m", PARTNER_API_BAD_KEY_RATE="100000/m")

    def obmin(*args: str) -> str:
        done = subprocess.run([OBMIN, *args], env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    obmin("demo", "--no-serve")
    lines = obmin("apikey", "create", "alice@example.com").splitlines()
    key, login = lines[-1], next(line.split()[1] for line in lines if line.startswith("login "))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "processes.log"
    with log.open("w") as out:
        processes = [
            subprocess.Popen([OBMIN, "serve", "--workers", "2", "--blocking-threads", "4",
                              "--bind", f"127.0.0.1:{port}"], env=env, stdout=out,
                             stderr=subprocess.STDOUT),
            subprocess.Popen([OBMIN, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT),
        ]
        try:
            answers = _load(url, key, login)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
    errors = [answer for answer in answers if answer[1] >= 500]
    assert not errors, errors[:5]
    kinds = {name for name, _status, _text in answers}
    assert kinds == {"create_bid", "cancel_bid", "pay_bid", "I have paid", "add_payout"}
    assert len(answers) == CLIENTS * ROUNDS * 5
    assert "database is locked" not in log.read_text()


def _load(url: str, key: str, login: str) -> list[tuple[str, int, str]]:
    v1 = url + "/api/userapi/v1/"
    headers = {"API-LOGIN": login, "API-KEY": key}
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/health/live", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)
    directions = httpx.post(v1 + "get_directions", headers=headers).json()["data"]
    direction = next(d["direction_id"] for d in directions
                     if d["currency_get_title"] == "Bitcoin")
    answers: list[tuple[str, int, str]] = []
    lock = threading.Lock()

    def note(name: str, response: httpx.Response) -> None:
        with lock:
            answers.append((name, response.status_code, response.text[:200]))

    def client(number: int) -> None:
        with httpx.Client(timeout=60) as http:
            for n in range(ROUNDS):
                made = http.post(v1 + "create_bid", headers=headers, data={
                    "direction_id": direction, "calc_amount": "100",
                    "cf6": f"c{number}-{n}@example.org", "account2": EXAMPLES["bitcoin"],
                    "callback_url": "http://127.0.0.1:9/callback"})
                note("create_bid", made)
                bid = made.json()["data"]
                http.get(f"{url}/exchange/{bid['hash']}/")  # the page sets the CSRF cookie
                csrf = http.cookies.get("csrftoken") or ""
                calls = [
                    ("cancel_bid", lambda: http.post(v1 + "cancel_bid", headers=headers,
                                                     data={"id": bid["id"]})),
                    ("pay_bid", lambda: http.post(v1 + "pay_bid", headers=headers,
                                                  data={"id": bid["id"]})),
                    ("I have paid", lambda: http.post(
                        f"{url}/exchange/{bid['hash']}/paid/",
                        data={"csrfmiddlewaretoken": csrf})),
                    ("add_payout", lambda: http.post(url + "/service/partner/api.php", data={
                        "api_action": "pp", "api_key": key, "method": "add_payout",
                        "method_id": "1", "account": "TXabc"})),
                ]
                start = threading.Barrier(len(calls))

                def fire(name, call):  # noqa: ANN001, ANN202 - a thread's body
                    start.wait(10)
                    note(name, call())

                threads = [threading.Thread(target=fire, args=call) for call in calls]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(60)

    clients = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(300)
    return answers
