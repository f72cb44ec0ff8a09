"""Outbound calls to partners' addresses: what is refused, what is sent, what is never followed.

Live receivers are `http.server`s on 127.0.0.1 in a thread; names are pointed at addresses with
`netguard.hosts_override` (a hosts-file-like table) instead of real DNS.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obmin.lib import netguard
from obmin.lib.netguard import Reply, SendFailed, hosts_override, send, url_refusal

PUBLIC = "93.184.216.34"


class Seen(BaseHTTPRequestHandler):
    """Records each request; /redirect answers 302 to /target, everything else 200."""

    seen: list[tuple[str, str, dict[str, str], bytes]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        type(self).seen.append((self.command, self.path, dict(self.headers), body))
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/target")
            self.end_headers()
            return
        payload = b"ok:" + b"x" * 2000
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[int, list]]:
    Seen.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Seen)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], Seen.seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def allow_private(settings):
    settings.POSTBACK_ALLOW_PRIVATE = True


def test_public_addresses_are_acceptable(settings):
    settings.POSTBACK_ALLOW_PRIVATE = False
    with hosts_override({"tracker.test": [PUBLIC]}):
        assert url_refusal("https://tracker.test/postback?subid={sub1}") is None
        assert url_refusal("http://tracker.test:8080/p") is None
    assert url_refusal(f"http://{PUBLIC}/p") is None
    assert url_refusal("http://[2606:2800:220:1:248:1893:25c8:1946]/p") is None


@pytest.mark.parametrize("url", [
    "ftp://tracker.test/x", "file:///etc/passwd", "gopher://x", "tracker.test/x", "",
    "http:///nohost", "http://user:pw@tracker.test/", "http://tracker.test:99999/",
    "http://tracker.test/a\tb", "http://tracker.test/\u202ex", "http://exa\u200bmple.test/",
])
def test_bad_urls_are_refused_with_a_reason(url):
    with hosts_override({"tracker.test": [PUBLIC]}):
        reason = url_refusal(url)
    assert reason and len(reason.splitlines()) == 1


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
    "0.0.0.0", "100.64.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255", "198.18.0.1",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::1",
])
def test_inner_addresses_are_refused(settings, address):
    settings.POSTBACK_ALLOW_PRIVATE = False
    literal = f"[{address}]" if ":" in address else address
    assert url_refusal(f"http://{literal}/postback") is not None
    with hosts_override({"tracker.test": [address]}):
        assert url_refusal("https://tracker.test/postback") is not None


@given(st.ip_addresses())
def test_an_address_is_refused_unless_it_is_global(address):
    from django.conf import settings

    assert settings.POSTBACK_ALLOW_PRIVATE is False
    refusal = netguard.address_refusal(str(address))
    if refusal is None:
        assert address.is_global and not address.is_multicast


def test_one_inner_address_among_public_ones_is_refused(settings):
    settings.POSTBACK_ALLOW_PRIVATE = False
    with hosts_override({"tracker.test": [PUBLIC, "10.1.2.3"]}):
        assert "10.1.2.3" in (url_refusal("http://tracker.test/") or "")


def test_unresolvable_host_is_refused():
    assert url_refusal("http://no-such-host.invalid/") is not None


def test_allow_private_lets_inner_addresses_through(settings):
    settings.POSTBACK_ALLOW_PRIVATE = True
    assert url_refusal("http://127.0.0.1:9/") is None
    assert url_refusal("ftp://127.0.0.1/") is not None


def test_public_name_resolving_to_loopback_is_refused_at_delivery(settings, receiver):
    """Accepted while the name was public; by delivery it points at 127.0.0.1: nothing sent."""
    settings.POSTBACK_ALLOW_PRIVATE = False
    port, seen = receiver
    url = f"http://tracker.test:{port}/postback"
    with hosts_override({"tracker.test": [PUBLIC]}):
        assert url_refusal(url) is None
    rebound = hosts_override({"tracker.test": ["127.0.0.1"]})
    with rebound, pytest.raises(SendFailed, match="loopback"):
        send("GET", url)
    assert seen == []


def test_send_connects_to_the_checked_address_and_keeps_the_host_name(allow_private, receiver):
    port, seen = receiver
    with hosts_override({"tracker.test": ["127.0.0.1"]}):
        reply = send("POST", f"http://tracker.test:{port}/in?a=1", body=b'{"x":1}',
                     headers={"Content-Type": "application/json", "X-Obmin-Event": "click"})
    assert reply == Reply(200, "ok:" + "x" * 497)
    method, path, headers, body = seen[0]
    assert (method, path, body) == ("POST", "/in?a=1", b'{"x":1}')
    assert headers["Host"] == f"tracker.test:{port}"
    assert headers["X-Obmin-Event"] == "click"


def test_redirects_are_not_followed(allow_private, receiver):
    port, seen = receiver
    reply = send("GET", f"http://127.0.0.1:{port}/redirect")
    assert reply.status == 302
    assert [path for _, path, _, _ in seen] == ["/redirect"]


def test_hanging_receiver_times_out(allow_private):
    """A receiver that accepts and never answers costs one attempt its timeout, no more."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        with pytest.raises(SendFailed, match="No answer"):
            send("GET", f"http://127.0.0.1:{port}/", timeout=0.3)
    finally:
        listener.close()


def test_dripping_receiver_is_cut_off(allow_private):
    """Headers one byte at a time, each within the socket timeout: the whole attempt is bounded."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        conn.recv(4096)
        try:
            while not stop.wait(0.05):
                conn.sendall(b"H")
        except OSError:
            pass
        finally:
            conn.close()

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    try:
        with pytest.raises(SendFailed):
            send("GET", f"http://127.0.0.1:{port}/", timeout=0.5)
    finally:
        stop.set()
        listener.close()
        thread.join(5)


def test_connection_refused_is_a_readable_failure(allow_private):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    with pytest.raises(SendFailed) as failure:
        send("GET", f"http://127.0.0.1:{port}/")
    assert failure.value.reason


@given(path=st.text(st.characters(exclude_characters="#"), max_size=40),
       query=st.text(st.characters(exclude_characters="#"), max_size=40))
def test_normalised_urls_are_ascii_and_stay_as_they_are(path, query):
    """Whatever path and query are typed, the stored form is ASCII (nothing for an HTTP client
    to choke on), normalising it again changes nothing, and macros' braces are kept."""
    try:
        url = netguard.url_normalize(f"http://Bücher.test/{path}?{query}&s={{sub1}}")
    except SendFailed as refused:
        assert refused.reason
        return
    assert url.isascii() and url.startswith("http://xn--bcher-kva.test/")
    assert "{sub1}" in url and netguard.url_normalize(url) == url


def test_an_owner_past_its_lookups_waits_for_one_rather_than_failing(monkeypatch):
    """Healthy names of one owner, more at once than PER_OWNER_LOOKUPS: the next waits for a
    look-up to finish (milliseconds) and resolves; only hanging ones are refused."""
    import threading
    import time

    def slowish(host: str, port: int) -> list[str]:
        time.sleep(0.2)
        return ["93.184.216.34"]

    monkeypatch.setattr(netguard, "_getaddrinfo", slowish)
    monkeypatch.setattr(netguard, "RESOLVE_TIMEOUT", 3.0)
    results: list[object] = []

    def resolve(n: int) -> None:
        try:
            results.append(netguard._resolve(f"h{n}.owner.test", 80, owner="partner-7"))
        except netguard.SendFailed as failed:
            results.append(failed)

    threads = [threading.Thread(target=resolve, args=(n,))
               for n in range(netguard.PER_OWNER_LOOKUPS + 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == [["93.184.216.34"]] * (netguard.PER_OWNER_LOOKUPS + 3)
