"""Issue 28.6: both APIs answer their own envelope to every malformed request (a form body
declared utf-16, more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS, a body over the size limit, a
Host outside ALLOWED_HOSTS), never Django's HTML 400 page; and a bad Host anywhere is one log
line, not a traceback. (Over a real server with generated requests: test_generated_attacks.)"""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.conf import settings as django_settings

from obmin.partner_api.services import apikey_create

pytestmark = pytest.mark.django_db

API = "/service/partner/api.php"
V1 = "/api/userapi/v1/get_info"


def malformed(kind: str) -> dict[str, object]:
    """Test client arguments for a POST of this kind of malformed request."""
    if kind == "utf-16":
        return {"data": "api_action=pp&method=get_info".encode("utf-16"),
                "content_type": "application/x-www-form-urlencoded; charset=utf-16"}
    if kind == "too many fields":
        fields = "&".join(f"f{n}=1" for n in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
                                                   + 5))
        return {"data": f"api_action=pp&method=get_info&{fields}".encode(),
                "content_type": "application/x-www-form-urlencoded"}
    if kind == "too big":
        size = django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1000
        return {"data": ("api_action=pp&method=get_info&pad=" + "x" * size).encode(),
                "content_type": "application/x-www-form-urlencoded"}
    if kind == "bad multipart":
        return {"data": b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1",
                "content_type": "multipart/form-data; boundary=x"}
    if kind == "unknown charset":
        return {"data": b"api_action=pp", "content_type":
                "application/x-www-form-urlencoded; charset=x-no-such-charset"}
    if kind == "bad host":
        return {"data": b"api_action=pp&method=get_info",
                "content_type": "application/x-www-form-urlencoded",
                "HTTP_HOST": "evil.example"}
    raise AssertionError(kind)


KINDS = ["utf-16", "too many fields", "too big", "bad multipart", "unknown charset", "bad host"]


def assert_envelope(response, *, v1: bool) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    answer = json.loads(response.content)
    keys = {"error", "error_text", "data"} if v1 else {"status", "error", "error_text", "data"}
    assert keys <= set(answer), answer
    assert answer["error"] != 0 and answer["error_text"]
    return answer


@pytest.mark.parametrize("path", [API, "/api.html"])  # api.php and Premium's path for it
@pytest.mark.parametrize("kind", KINDS)
def test_api_php_answers_its_envelope(client, alice, kind, path):
    _key, raw = apikey_create(partner=alice)
    response = client.generic("POST", path, headers={"Authorization": f"Bearer {raw}"},
                              **malformed(kind))
    answer = assert_envelope(response, v1=False)
    assert answer["status"] == "error"


@pytest.mark.parametrize("kind", KINDS)
def test_v1_answers_its_envelope(client, alice, kind):
    key, raw = apikey_create(partner=alice)
    response = client.generic("POST", V1, headers={"API-LOGIN": key.login, "API-KEY": raw},
                              **malformed(kind))
    assert_envelope(response, v1=True)


# API v1 also reads a JSON body (Django's form parsing never touches it): one over the size
# limit, or nested deeper than the JSON decoder can follow, still gets the envelope.
JSON_KINDS = {
    "json too big": b'{"pad": "' + b"x" * (django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1000)
                    + b'"}',
    "json too deep": b"[" * 200_000,
}


@pytest.mark.parametrize("kind", JSON_KINDS)
def test_v1_answers_its_envelope_to_an_unreadable_json_body(client, alice, kind):
    key, raw = apikey_create(partner=alice)
    response = client.generic("POST", V1, JSON_KINDS[kind], content_type="application/json",
                              headers={"API-LOGIN": key.login, "API-KEY": raw})
    assert response.status_code < 500
    assert_envelope(response, v1=True)


def test_too_many_fields_in_the_query_string(client):
    query = "&".join(f"f{n}=1" for n in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 5))
    assert_envelope(client.get(f"{API}?{query}"), v1=False)
    assert_envelope(client.get(f"{V1}?{query}"), v1=True)


@pytest.fixture
def console():
    """What the configured console handlers print (the root's and django.security's)."""
    stream = io.StringIO()
    handlers = [h for h in logging.getLogger().handlers
                + logging.getLogger("django.security").handlers
                if any(type(f).__name__ == "ScrubSecretsFilter" for f in h.filters)]
    saved = [h.setStream(stream) for h in handlers]
    try:
        yield stream
    finally:
        for handler, old in zip(handlers, saved, strict=True):
            handler.setStream(old)


@pytest.mark.parametrize("path", ["/", "/cabinet/login/", API, V1, "/no/such/page/"])
def test_a_bad_host_is_one_log_line(client, console, path):
    client.get(path, HTTP_HOST="evil.example")
    lines = [line for line in console.getvalue().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "evil.example" in lines[0] and "Traceback" not in console.getvalue()


# A JSON string may hold an unpaired surrogate (no UTF-8 for it: SQLite refused it with a 500);
# a form body is UTF-8, so only JSON can carry one. Either body may carry a NUL (which
# PostgreSQL refuses in text).
SURROGATES = [("create_bid", {"api_id": "\ud800x"}), ("bid_info", {"hash": "\ud800x"}),
              ("cancel_bid", {"hash": "\udfffx"}), ("pay_bid", {"hash": "x\ud83d"}),
              ("get_info", {"\ud800": "1"})]
NULS = [("create_bid", {"api_id": "a\x00b"}), ("bid_info", {"hash": "a\x00b"})]


@pytest.mark.parametrize(("method", "params", "as_json"), [
    *[(method, params, True) for method, params in SURROGATES + NULS],
    *[(method, params, False) for method, params in NULS],
])
def test_v1_refuses_text_no_database_can_store(client, alice, method, params, as_json):
    """Text no database can store in a parameter's name or value is refused by name."""
    key, raw = apikey_create(partner=alice)
    headers = {"API-LOGIN": key.login, "API-KEY": raw}
    if as_json:
        response = client.generic("POST", f"/api/userapi/v1/{method}", json.dumps(params),
                                  content_type="application/json", headers=headers)
    else:
        response = client.post(f"/api/userapi/v1/{method}", params, headers=headers)
    answer = assert_envelope(response, v1=True)
    assert answer["error"] == 4, answer
    (name,) = params
    (refused,) = answer["error_fields"]
    assert refused == name.encode("utf-8", "backslashreplace").decode()


@pytest.mark.parametrize("login", ["\u00e9", "x\u00ff"])
def test_v1_a_login_with_other_than_ascii_is_refused_not_an_error(client, alice, login):
    """Headers arrive as latin-1 text; comparing a non-ASCII str in constant time raised."""
    _key, raw = apikey_create(partner=alice)
    response = client.post(V1, HTTP_API_LOGIN=login, HTTP_API_KEY=raw)
    answer = assert_envelope(response, v1=True)
    assert answer["error"] == 1


def test_v1_a_key_with_other_than_ascii_is_refused_not_an_error(client, alice):
    key, _raw = apikey_create(partner=alice)
    response = client.post(V1, HTTP_API_LOGIN=key.login, HTTP_API_KEY="obm_live_\u00e9")
    assert_envelope(response, v1=True)
    response = client.post(API, {"api_action": "pp", "method": "get_info"},
                           HTTP_AUTHORIZATION="Bearer obm_live_\u00e9")
    assert_envelope(response, v1=False)
