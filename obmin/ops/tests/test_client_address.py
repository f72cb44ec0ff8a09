"""Issue 28.4: one client address, the same for every limit, lockout, log line and click.

Behind the operator's proxy (REMOTE_ADDR a trusted proxy, "trust X-Forwarded-For" on) the
client is the right-most address of X-Forwarded-For that is not a trusted proxy: sign-up and
password-reset limits and the login lockout count per real client, never per proxy, and the
entries a client writes itself (left of what our proxy appended) change nothing.
"""

from __future__ import annotations

import logging

import pytest

from obmin.lib.ipmask import client_ip
from obmin.partners.models import ReferralSettings
from obmin.testing.factories import PASSWORD
from obmin.testing.wsgi import wsgi_request

pytestmark = pytest.mark.django_db

PROXY = "127.0.0.1"


def via_proxy(client_address: str, claimed: str = "") -> dict[str, str]:
    """What our proxy passes on: the client's own X-Forwarded-For (if any), then its address."""
    chain = f"{claimed}, {client_address}" if claimed else client_address
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": chain}


@pytest.fixture
def behind_proxy(db):
    ReferralSettings.objects.update_or_create(pk=1, defaults={"trust_forwarded_for": True})


def test_sign_up_limit_is_per_real_client(client, behind_proxy, settings,
                                          django_capture_on_commit_callbacks):
    settings.ACCOUNT_RATE_PER_IP = "2/h"

    def sign_up(email: str, **meta: str) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/cabinet/signup/", {"email": email}, **meta).status_code

    # One client, whatever it claims left of our proxy's entry, is counted as one.
    assert [sign_up(f"a{n}@example.com", **via_proxy("203.0.113.5", claimed=f"10.9.9.{n}"))
            for n in range(3)] == [302, 302, 429]
    # Another client behind the same proxy is not blocked by the first.
    assert sign_up("b@example.com", **via_proxy("203.0.113.6")) == 302


def test_password_reset_limit_is_per_real_client(client, alice, behind_proxy, settings,
                                                 django_capture_on_commit_callbacks):
    settings.ACCOUNT_RATE_PER_IP = "1/h"
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post("/cabinet/password/reset/", {"email": "x@example.com"},
                            **via_proxy("203.0.113.5"))
        again = client.post("/cabinet/password/reset/", {"email": "y@example.com"},
                            **via_proxy("203.0.113.5"))
        other = client.post("/cabinet/password/reset/", {"email": "z@example.com"},
                            **via_proxy("198.51.100.9"))
    assert (first.status_code, again.status_code, other.status_code) == (302, 429, 302)


def test_a_lockout_is_per_real_client_not_per_partner(client, alice, behind_proxy):
    for _ in range(5):
        client.post("/cabinet/login/", {"username": alice.email, "password": "wrong"},
                    **via_proxy("203.0.113.5"))
    locked = client.post("/cabinet/login/", {"username": alice.email, "password": PASSWORD},
                         **via_proxy("203.0.113.5"))
    assert locked.status_code == 429
    # alice, from her own address behind the same proxy, still logs in.
    response = client.post("/cabinet/login/", {"username": alice.email, "password": PASSWORD},
                           **via_proxy("198.51.100.9"))
    assert response.status_code == 302


def test_without_trust_the_header_is_ignored(client, settings):
    settings.ACCOUNT_RATE_PER_IP = "1/h"
    meta_a = {"REMOTE_ADDR": "192.0.2.10", "HTTP_X_FORWARDED_FOR": "203.0.113.5"}
    meta_b = {"REMOTE_ADDR": "192.0.2.10", "HTTP_X_FORWARDED_FOR": "203.0.113.6"}
    assert client.post("/cabinet/signup/", {"email": "a@example.com"}, **meta_a).status_code \
        == 302
    # A client cannot escape its limit by writing another address in the header.
    assert client.post("/cabinet/signup/", {"email": "b@example.com"}, **meta_b).status_code \
        == 429


def test_the_access_log_names_the_real_client(behind_proxy, caplog):
    from obmin import wsgi  # noqa: F401  (set up first: it configures logging anew)

    access = logging.getLogger("obmin.access")  # its own handler; it does not propagate
    access.addHandler(caplog.handler)
    with caplog.at_level(logging.INFO, logger="obmin.access"):
        wsgi_request("/health/live", remote_addr=PROXY,
                     headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.5"})
    access.removeHandler(caplog.handler)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "obmin.access"]
    assert line.startswith("203.0.113.5 ")


@pytest.mark.parametrize(("remote", "forwarded", "expected"), [
    # our proxy on this host: the right-most entry it appended
    ("127.0.0.1", "6.6.6.6, 203.0.113.5", "203.0.113.5"),
    # a chain of our proxies on a private network: the right-most untrusted one
    ("10.0.0.1", "6.6.6.6, 203.0.113.5, 10.0.0.7, 192.168.1.2", "203.0.113.5"),
    # the peer is not a proxy of ours: its header is its own claim
    ("192.0.2.1", "203.0.113.5", "192.0.2.1"),
    # every hop ours (a client on the private network): the left-most
    ("127.0.0.1", "10.1.2.3, 10.0.0.7", "10.1.2.3"),
    # garbage where the client's entry should be: the last hop we trust
    ("127.0.0.1", "1.2.3.4, nonsense", "127.0.0.1"),
    ("127.0.0.1", "", "127.0.0.1"),
])
def test_the_right_most_untrusted_address(remote, forwarded, expected):
    meta = {"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": forwarded}
    assert client_ip(meta, trust_forwarded_for=True) == expected
    assert client_ip(meta) == remote
