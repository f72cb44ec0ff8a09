"""Calls to addresses that partners give us (postbacks, callback URLs), without letting them
reach the operator's own network (server-side request forgery).

`url_refusal(url)` says why an address is not acceptable (None when it is): only http and https,
and the host must resolve to public addresses only; loopback, private, link-local, reserved,
multicast and unspecified addresses are refused, IPv4 written as IPv6 (`::ffff:10.0.0.1`,
6to4) too, unless `settings.POSTBACK_ALLOW_PRIVATE`.

`url_normalize(url)` is the one form every partner-given URL is stored and sent in: the host in
IDNA (`bücher.example` → `xn--bcher-kva.example`), path and query percent-encoded as UTF-8
(existing `%XX` escapes and `{macro}` braces kept), the fragment dropped; a URL with control,
invisible or bidi characters, or a host IDNA refuses, is refused. Names are resolved within
`RESOLVE_TIMEOUT` seconds (a resolver that never answers cannot hold a web request).

`send(method, url, ...)` resolves the host once, checks those addresses again (a name that was
public when saved may point inside since), connects to the address it checked (so a second DNS
answer cannot slip in between the check and the connection), never follows redirects, bounds
the whole attempt by `timeout` and reads at most the first 500 bytes of the answer. Anything
that keeps it from getting an HTTP status raises `SendFailed` with a readable reason.

Tests point names at addresses with `hosts_override({"tracker.test": ["127.0.0.1"]})`, a
hosts-file-like table consulted before the system resolver.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager, suppress
from typing import NamedTuple
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings
from django.utils.translation import gettext as _

from obmin.lib.text import has_hidden_characters

REPLY_BYTES = 500
USER_AGENT = "Obmin-Postback/1"
# Longest wait for the system resolver; past it the name counts as not resolved.
RESOLVE_TIMEOUT = 3.0
# Characters kept as they are in a path and a query: RFC 3986's reserved and unreserved ones,
# `%` (escapes already made) and the braces of `{macro}` templates.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%{}"
_QUERY_SAFE = _PATH_SAFE + "?"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Reply(NamedTuple):
    status: int
    text: str  # the first 500 bytes of the body, decoded as UTF-8 (bad bytes replaced)


class SendFailed(Exception):
    """No HTTP answer: the address was refused, or the connection failed or timed out."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Hosts-file-like overrides (lower-case name -> addresses), consulted before DNS; for tests.
_hosts: dict[str, list[str]] = {}
_hosts_lock = threading.Lock()


@contextmanager
def hosts_override(table: Mapping[str, list[str]]) -> Iterator[None]:
    """Within the block, these names resolve to these addresses (as /etc/hosts would)."""
    with _hosts_lock:
        saved = dict(_hosts)
        _hosts.update({name.lower(): list(addresses) for name, addresses in table.items()})
    try:
        yield
    finally:
        with _hosts_lock:
            _hosts.clear()
            _hosts.update(saved)


# getaddrinfo has no timeout of its own: it runs in these threads, waited for at most
# RESOLVE_TIMEOUT; a look-up still hanging keeps its thread (a name server that never answers
# is the partner's to choose). So a name asked again while its look-up runs waits for that one,
# and one owner (the partner whose URL it is) has at most PER_OWNER_LOOKUPS running: however
# many of its names hang, the other threads stay for everyone else's.
RESOLVER_THREADS = 32
PER_OWNER_LOOKUPS = 4
_resolver = ThreadPoolExecutor(max_workers=RESOLVER_THREADS, thread_name_prefix="resolve")
_running: dict[str, Future[list[str]]] = {}  # name -> its look-up, while it runs
_running_per_owner: Counter[object] = Counter()
_running_lock = threading.Lock()
_lookup_finished = threading.Condition(_running_lock)


def _getaddrinfo(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _lookup(host: str, port: int, owner: object) -> Future[list[str]]:
    """The running look-up of `host`, or a new one once `owner` has fewer than
    PER_OWNER_LOOKUPS running (waiting up to RESOLVE_TIMEOUT for one of them: healthy names
    resolve in milliseconds); SendFailed when its look-ups still hang then."""
    name = host.lower()
    deadline = time.monotonic() + RESOLVE_TIMEOUT
    with _running_lock:
        while True:
            running = _running.get(name)
            if running is not None:
                return running
            if owner is None or _running_per_owner[owner] < PER_OWNER_LOOKUPS:
                break
            left = deadline - time.monotonic()
            if left <= 0 or not _lookup_finished.wait(timeout=left):
                raise SendFailed(_("The host %(host)s was not resolved: other host names of "
                                   "the same owner are still being resolved.") % {"host": host})
        future = _resolver.submit(_getaddrinfo, host, port)
        _running[name] = future
        if owner is not None:
            _running_per_owner[owner] += 1

    def finished(done: Future[list[str]]) -> None:
        with _running_lock:
            if _running.get(name) is done:
                del _running[name]
            if owner is not None:
                _running_per_owner[owner] -= 1
                if _running_per_owner[owner] <= 0:
                    del _running_per_owner[owner]
            _lookup_finished.notify_all()

    future.add_done_callback(finished)
    return future


def _resolve(host: str, port: int, owner: object = None) -> list[str]:
    """Every address `host` resolves to (an address literal resolves to itself)."""
    override = _hosts.get(host.lower())
    if override is not None:
        return list(override)
    try:
        infos = _lookup(host, port, owner).result(timeout=RESOLVE_TIMEOUT)
    except FutureTimeout as exc:
        raise SendFailed(_("The host %(host)s could not be resolved within %(seconds)s s.")
                         % {"host": host, "seconds": f"{RESOLVE_TIMEOUT:g}"}) from exc
    except (OSError, UnicodeError) as exc:
        raise SendFailed(_("The host %(host)s could not be resolved.") % {"host": host}) from exc
    addresses: list[str] = []
    for raw in infos:
        address = raw.split("%", 1)[0]  # drop an IPv6 zone ("fe80::1%eth0")
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise SendFailed(_("The host %(host)s could not be resolved.") % {"host": host})
    return addresses


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo client), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def address_refusal(address: str) -> str | None:
    """Why a connection to this IP address is refused, or None when it is public."""
    try:
        ip: IPAddress = ipaddress.ip_address(address)
    except ValueError:
        return _("%(address)s is not an IP address.") % {"address": address}
    if settings.POSTBACK_ALLOW_PRIVATE:
        return None
    embedded = _embedded_ipv4(ip)
    for candidate in (ip, embedded) if embedded is not None else (ip,):
        if candidate.is_unspecified:
            kind = _("unspecified")
        elif candidate.is_loopback:
            kind = _("loopback")
        elif candidate.is_link_local:
            kind = _("link-local")
        elif candidate.is_multicast:
            kind = _("multicast")
        elif candidate.is_private:
            kind = _("private")
        elif candidate.is_reserved or not candidate.is_global:
            kind = _("reserved")
        else:
            continue
        return _("%(address)s is a %(kind)s address.") % {"address": address, "kind": kind}
    return None


class _Target(NamedTuple):
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line


def _hidden_character(ch: str) -> bool:
    """`lib.text`'s hidden characters, and separators other than the plain space (which is
    percent-encoded): in a URL a no-break space hides as well as a zero-width one."""
    return ch != " " and (unicodedata.category(ch) == "Zs" or has_hidden_characters(ch))


_HOST_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _encode(text: str, safe: str) -> str:
    return quote(_LONE_PERCENT.sub("%25", text), safe=safe)


def url_normalize(url: str) -> str:
    """The URL as it is stored and sent: IDNA host, percent-encoded UTF-8 path and query (see
    the module's docstring); raises `SendFailed` saying why when it cannot be one."""
    url = url.strip()
    if any(_hidden_character(ch) for ch in url):
        raise SendFailed(_("The address may not contain control or invisible characters."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SendFailed(_("The address is not a valid URL.")) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise SendFailed(_("The address must start with http:// or https://."))
    if not parts.hostname:
        raise SendFailed(_("The address has no host."))
    if parts.username is not None or parts.password is not None:
        raise SendFailed(_("The address may not carry a user name or password."))
    host = parts.hostname
    if ":" in host:  # an IPv6 literal
        try:
            host = f"[{ipaddress.IPv6Address(host)}]"
        except ValueError as exc:
            raise SendFailed(_("The address is not a valid URL.")) from exc
    else:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise SendFailed(_("%(host)s is not a valid host name.") % {"host": host}) from exc
        if not host or not set(host) <= _HOST_CHARACTERS:
            raise SendFailed(_("%(host)s is not a valid host name.") % {"host": host})
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((scheme, netloc, _encode(parts.path, _PATH_SAFE),
                       _encode(parts.query, _QUERY_SAFE), ""))


def url_checked(url: str, *, owner: object = None) -> str:
    """The URL normalised (`url_normalize`), its host resolved and every address allowed;
    raises `SendFailed` saying why not. The one check of a partner-given URL when saved.
    `owner`: whose URL it is (the partner), for the resolver's share (`_lookup`)."""
    normalized = url_normalize(url)
    _checked_addresses(_parse(normalized), owner)
    return normalized


def _parse(url: str) -> _Target:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise SendFailed(_("The address is not a valid URL.")) from exc
    if parts.scheme not in ("http", "https"):
        raise SendFailed(_("The address must start with http:// or https://."))
    if not parts.hostname:
        raise SendFailed(_("The address has no host."))
    if parts.username is not None or parts.password is not None:
        raise SendFailed(_("The address may not carry a user name or password."))
    if any(ord(ch) < 33 for ch in url.strip()):
        raise SendFailed(_("The address may not contain spaces or control characters."))
    if not url.isascii():  # stored before URLs were normalised: sent as signed, or not at all
        raise SendFailed(_("The address is not normalised (non-ASCII characters)."))
    default_port = 443 if parts.scheme == "https" else 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(parts.scheme, parts.hostname, port or default_port, path)


def _checked_addresses(target: _Target, owner: object = None) -> list[str]:
    addresses = _resolve(target.host, target.port, owner)
    for address in addresses:
        refusal = address_refusal(address)
        if refusal is not None:
            raise SendFailed(_("%(host)s is refused: %(reason)s")
                             % {"host": target.host, "reason": refusal})
    return addresses


def url_refusal(url: str) -> str | None:
    """Why Obmin will not call this URL, or None when it may (resolves the host now)."""
    try:
        url_checked(url)
    except SendFailed as exc:
        return exc.reason
    return None


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Speaks to `host` (the Host header) over a connection to the address already checked."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """The same over TLS, the certificate checked against the host name (SNI sent)."""

    def connect(self) -> None:
        super().connect()
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)


def send(method: str, url: str, *, body: bytes | None = None,
         headers: dict[str, str] | None = None, timeout: float = 5.0,
         owner: object = None) -> Reply:
    """One HTTP request to a checked address, no redirects followed, within `timeout` seconds.

    Returns the status and the first 500 bytes of the answer, whatever the status; raises
    `SendFailed` when the address is refused or no answer came in time. `owner`: whose URL it
    is (the partner), for the resolver's share (`_lookup`).
    """
    target = _parse(url)
    addresses = _checked_addresses(target, owner)
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    request_headers = {"User-Agent": USER_AGENT, "Connection": "close", **(headers or {})}
    last_error: OSError | None = None
    for address in addresses:
        conn = cls(target.host, target.port, address, timeout)
        # The socket timeout bounds each read; this watchdog bounds the whole attempt, so a
        # receiver dripping one byte at a time cannot hold a worker thread for long.
        fired = threading.Event()
        watchdog = threading.Timer(timeout, _abort, args=(conn, fired))
        watchdog.daemon = True
        watchdog.start()
        try:
            conn.request(method, target.path, body=body, headers=request_headers)
            response = conn.getresponse()
            raw = response.read(REPLY_BYTES)
            return Reply(response.status, raw.decode("utf-8", errors="replace"))
        except ConnectionRefusedError as exc:
            last_error = exc  # try the host's next address, if it has one
        except TimeoutError as exc:
            raise SendFailed(_("No answer within %(seconds)s s.") % {"seconds": f"{timeout:g}"}
                             ) from exc
        except ssl.SSLError as exc:
            raise SendFailed(_("TLS failed: %(error)s") % {"error": exc.reason or exc}) from exc
        except (OSError, http.client.HTTPException) as exc:
            if fired.is_set():
                raise SendFailed(_("No answer within %(seconds)s s.")
                                 % {"seconds": f"{timeout:g}"}) from exc
            raise SendFailed(_("Connection failed: %(error)s")
                             % {"error": str(exc) or type(exc).__name__}) from exc
        finally:
            watchdog.cancel()
            conn.close()
    raise SendFailed(_("Connection refused by %(host)s.") % {"host": target.host}) from last_error


def _abort(conn: http.client.HTTPConnection, fired: threading.Event) -> None:
    # Said before the socket is shut: the request's thread, woken by the shutdown, must see
    # that the time ran out (the timer thread may still be alive then).
    fired.set()
    sock = conn.sock
    if sock is not None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
