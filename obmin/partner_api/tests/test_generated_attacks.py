"""Generated attacks: schemathesis turns api.php's own OpenAPI document into requests.

Every operation of the document the server serves (`/service/partner/openapi.json`: api.php
and, now that it has them, API v1's methods) gets generated requests, valid and not
(parameters of every type, odd strings, missing and unknown fields, the query string and the
form body), sent over HTTP to the production server (`obmin serve`, granian, on a free port,
with the demo's data) with a real key. Every answer must be the envelope (api.php: `status`,
`error`, `error_text`, `data`; API v1: `error`, `error_text`, `data`, `error_fields`), never a
5xx. At least 10,000 requests in all.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

OBMIN = Path(sys.executable).with_name("obmin")

# OBMIN_ATTACK_REQUESTS=500 for a quick local try; the test command sends the full number.
REQUESTS = int(os.environ.get("OBMIN_ATTACK_REQUESTS") or 10_000)
ENVELOPE_KEYS = {"status", "error", "error_text", "data"}  # api.php
V1_KEYS = {"error", "error_text", "data"}  # API v1 (and error_fields on a bad parameter)
V1_PREFIX = "/api/userapi/v1/"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`obmin serve` on the demo's data (directions, payout methods, alice's history), with
    rate limits out of the way (they would answer most requests with error 5 and test
    nothing); yields its URL, and alice's live key and its v1 login."""
    data = tmp_path_factory.mktemp("attack")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(OBMIN_DATA_DIR=str(data), TASKS_BACKEND="immediate", ACCESS_LOG="0",
               PARTNER_API_RATE="1000000/m", PARTNER_API_BAD_KEY_RATE="1000000/m",
               PARTNER_API_EXCHANGE_RATE="1000000/m", PARTNER_API_BIDS_PER_HOUR="1000000")

    def obmin(*args: str) -> str:
        done = subprocess.run([str(OBMIN), *args], env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    obmin("demo", "--no-serve")
    lines = obmin("apikey", "create", "alice@example.com").splitlines()
    login = next(line.split()[1] for line in lines if line.startswith("login "))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = (data / "serve.log").open("w")
    process = subprocess.Popen([str(OBMIN), "serve", "--bind", f"127.0.0.1:{port}",
                                "--workers", "2"], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(url + "/health/live", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.3)
        yield {"url": url, "key": lines[-1], "login": login, "log": data / "serve.log"}
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def assert_envelope(response, case) -> bool:
    """Fails unless the answer is the envelope; True for a success."""
    where = (f"{case.method} {case.path} query={case.query} body={case.body!r} "
             f"headers={case.headers} -> {response.status_code} {response.content[:200]!r}")
    assert response.status_code < 500, where
    assert response.headers["content-type"][0].startswith("application/json"), where
    answer = json.loads(response.content)
    assert isinstance(answer, dict), where
    if case.path.startswith(V1_PREFIX):
        assert V1_KEYS <= set(answer) <= V1_KEYS | {"error_fields"}, where
        assert isinstance(answer.get("error_fields", {}), dict), where
    else:
        assert set(answer) == ENVELOPE_KEYS, where
        assert (answer["status"] == "success") == (answer["error"] == 0), where
    assert isinstance(answer["error"], int) and isinstance(answer["error_text"], str), where
    assert isinstance(answer["data"], (dict, list)), where
    return answer["error"] == 0


ODD_METHODS = ("PUT", "PATCH", "DELETE")
ODD_BODIES = (  # content types and encodings a client should not send, and what a bot sends
    (b"\xff\xfe\x00garbage=\xc3(", "application/x-www-form-urlencoded; charset=utf-8"),
    (b'{"api_action": "pp", "method": "get_info"}', "application/json"),
    (b"api_action=pp&method=get_info", "text/plain; charset=koi8-r"),
    (b"--x\r\nContent-Disposition: form-data; name=\"method\"\r\n\r\nget_info\r\n--x--",
     "multipart/form-data; boundary=x"),
)


# Requests Django itself cannot read (issue 28.6): each still gets the API's envelope.
MALFORMED = (
    ({"Host": "evil.example"}, b"api_action=pp&method=get_info",
     "application/x-www-form-urlencoded"),
    ({}, "api_action=pp&method=get_info".encode("utf-16"),
     "application/x-www-form-urlencoded; charset=utf-16"),
    ({}, "&".join(f"f{n}=1" for n in range(1100)).encode(), "application/x-www-form-urlencoded"),
    ({}, b"api_action=pp", "application/x-www-form-urlencoded; charset=x-no-such-charset"),
    ({}, b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1",
     "multipart/form-data; boundary=x"),
    ({}, b"[" * 100_000, "application/json"),  # JSON (API v1 reads it) nested too deep
    # Headers in latin-1 beyond ASCII beside the real key (compared in constant time)
    ({"API-LOGIN": "\xe9", "Authorization": "Bearer obm_live_\xe9"},
     b"api_action=pp&method=get_info", "application/x-www-form-urlencoded"),
    # JSON strings no database stores: an unpaired surrogate, a NUL
    ({}, b'{"hash": "\\ud800x", "id": "1", "api_id": "a\\u0000b"}', "application/json"),
)
OVERSIZED = (  # over the 2.5 MB limit: a form, and JSON
    (b"api_action=pp&pad=" + b"x" * (3 * 1024 * 1024), "application/x-www-form-urlencoded"),
    (b'{"pad": "' + b"x" * (3 * 1024 * 1024) + b'"}', "application/json"),
)


def with_real_key(case, login: str, key: str) -> dict[str, str]:
    """The case's headers with the live key in them (API v1's pair or api.php's Bearer)."""
    headers = {k: str(v) for k, v in (case.headers or {}).items()}
    if case.path.startswith(V1_PREFIX):
        return {**headers, "API-LOGIN": login, "API-KEY": key}
    for params in (case.query, case.body):
        if isinstance(params, dict):
            params.pop("api_key", None)  # a key in the parameters would win over the header
    return {**headers, "Authorization": f"Bearer {key}"}


def test_every_generated_request_gets_the_envelope(server):
    """Each generated case goes out five ways: as generated; with the live key; with the live
    key as the other HTTP method (query string and form body swapped); as PUT, PATCH or
    DELETE with an odd content type or undecodable bytes; and with a body Django cannot read
    (a bad Host, utf-16, too many fields, an unknown charset, broken multipart, JSON nested
    too deep or with a lone surrogate, headers beyond ASCII; now and then a form or JSON over
    the size limit). So 2,000 generated cases make the 10,000 requests (generating is most of
    the cost: about 17 ms of CPU a case here); afterwards the server's log must hold no
    traceback."""
    base = server["url"]
    session = requests.Session()
    document = session.get(base + "/service/partner/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {"GET /service/partner/api.php",
                                               "POST /service/partner/api.php"}
    per_operation = math.ceil(REQUESTS / 5 / len(operations))
    sent = {op.label: 0 for op in operations}
    answered = {"success": 0, "error": 0}

    resets = []
    oversized = [0]

    def send(request, *args, **kwargs):
        """A connection reset before an answer is tried again, and counted."""
        for attempt in range(3):
            try:
                return request(*args, **kwargs)
            except requests.ConnectionError as error:
                resets.append(repr(error))
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def check(response, case) -> None:
        sent[f"{case.method} {case.path}"] = sent.get(f"{case.method} {case.path}", 0) + 1
        answered["success" if assert_envelope(response, case) else "error"] += 1

    for operation in operations:
        @settings(max_examples=per_operation, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), derandomize=True)
        @given(case=operation.as_strategy(), odd=st.integers(0, 11))
        def attack(case, odd: int) -> None:
            url = base + case.formatted_path
            check(send(case.call, base_url=base, session=session, timeout=30), case)
            case.headers = with_real_key(case, server["login"], server["key"])
            check(send(case.call, base_url=base, session=session, timeout=30), case)
            query = case.query if isinstance(case.query, dict) else {}
            form = case.body if isinstance(case.body, dict) else {}
            other = "POST" if case.method.upper() == "GET" else "GET"
            swapped = send(session.request, other, url, params=form, data=query or None,
                           headers=case.headers, timeout=30)
            check(_Answer(swapped), case)
            content, content_type = ODD_BODIES[odd % len(ODD_BODIES)]
            strange = send(session.request, ODD_METHODS[odd % len(ODD_METHODS)], url,
                           params=query, data=content,
                           headers={**case.headers, "Content-Type": content_type}, timeout=30)
            check(_Answer(strange), case)
            extra, content, content_type = MALFORMED[odd % len(MALFORMED)]
            if odd == 11 and oversized[0] < 20:
                oversized[0] += 1
                content, content_type = OVERSIZED[oversized[0] % 2]
            unreadable = send(session.request, "POST", url, params=query, data=content,
                              headers={**case.headers, "Content-Type": content_type, **extra},
                              timeout=30)
            check(_Answer(unreadable), case)

        attack()

    assert sum(sent.values()) >= REQUESTS, sent
    assert len(resets) < REQUESTS / 100, resets[:5]  # a rare hiccup, not a pattern
    # The generator reached real answers too, not only refusals.
    assert answered["success"] > 0 and answered["error"] > 0, answered
    assert "Traceback" not in server["log"].read_text()  # a refusal is a line, not a trace


class _Answer:
    """A `requests` answer read the way schemathesis' own Response is (for assert_envelope)."""

    def __init__(self, response: requests.Response) -> None:
        self.status_code = response.status_code
        self.content = response.content
        self.headers = {k.lower(): [v] for k, v in response.headers.items()}
