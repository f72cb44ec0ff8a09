"""Client IP addresses: which one to believe, and masking them before they are stored.

`client_address(meta)` is the one answer to "who sent this request", used by every rate limit,
the login lockout (django-axes), the access log, clicks and exchanges: REMOTE_ADDR, unless the
operator trusts X-Forwarded-For (the referral program's setting, read through the lookup the
partners room registers with `set_forwarded_for_trust`) and the peer is one of
`settings.TRUSTED_PROXIES`; then the right-most address of X-Forwarded-For that is not a trusted
proxy (entries left of it are whatever the client chose to send).

Masking keeps a click's network (enough to spot a farm of clicks) without keeping the person:
IPv4 loses its last octet, IPv6 its last 80 bits (what stays is the /48 a site is given).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from functools import lru_cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest

IPV4_KEPT_BITS = 24
IPV6_KEPT_BITS = 48
_IPV4_MASK = ((1 << IPV4_KEPT_BITS) - 1) << (32 - IPV4_KEPT_BITS)
_IPV6_MASK = ((1 << IPV6_KEPT_BITS) - 1) << (128 - IPV6_KEPT_BITS)


# Every request parses its peer's address (the access line, clicks, rate limits), and a busy
# site sees the same few peers (its proxies, its monitors) again and again: ipaddress's parser
# cost about 35 us of the export's answer per poll. Bounded, so invented addresses cannot grow it.
@lru_cache(maxsize=4096)
def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if not value or len(value) > 64:
        return None
    # "[2001:db8::1]" and "[2001:db8::1]:443" from some proxies; "1.2.3.4:5678" too.
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    value = value.split("%", 1)[0]  # zone index ("fe80::1%eth0") means nothing off the host
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:1.2.3.4 is an IPv4 client seen through a dual-stack socket.
        return address.ipv4_mapped
    return address


def normalize_ip(value: str) -> str:
    """The address in its canonical text form, or "" when it is not an IP address."""
    address = _parse(value)
    return str(address) if address is not None else ""


def mask_ip(value: str) -> str:
    """`203.0.113.57` -> `203.0.113.0`; `2001:db8:85a3:8d3:1319:8a2e:370:7348` -> `2001:db8:85a3::`.

    Anything that is not an IP address becomes "" (never stored as given).
    """
    address = _parse(value)
    if address is None:
        return ""
    # Integer masks: building ip_network objects costs several times as much, on every click.
    if isinstance(address, ipaddress.IPv4Address):
        return str(ipaddress.IPv4Address(int(address) & _IPV4_MASK))
    return str(ipaddress.IPv6Address(int(address) & _IPV6_MASK))


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=4)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries
                 if entry.strip())


def _is_trusted_proxy(address: IPAddress) -> bool:
    return _trusted(address)


# Asked for every request's peer (the access line, clicks, rate limits): the answer is kept
# per address, and forgotten when TRUSTED_PROXIES changes (tests' settings overrides).
@lru_cache(maxsize=4096)
def _trusted(address: IPAddress) -> bool:
    return any(address in network for network in _networks(tuple(settings.TRUSTED_PROXIES))
               if network.version == address.version)


@receiver(setting_changed)
def _forget_trusted(*, setting: str, **kwargs: object) -> None:
    if setting == "TRUSTED_PROXIES":
        _trusted.cache_clear()


def client_ip(meta: Mapping[str, str], *, trust_forwarded_for: bool = False) -> str:
    """The client's address from a WSGI environ (request.META), canonical, or "".

    X-Forwarded-For is only believed when the operator says a proxy of ours is in front and the
    peer is one of `TRUSTED_PROXIES`: then the client is the right-most entry that is not a
    trusted proxy (each proxy of ours appends what it saw; entries left of that are the
    client's own claim). An entry that is not an address ends the walk at the last hop
    trusted; when every entry is a trusted proxy, the left-most is the client.
    """
    remote = _parse(meta.get("REMOTE_ADDR", ""))
    if remote is None:
        return ""
    if not trust_forwarded_for or not _is_trusted_proxy(remote):
        return _text(remote)
    client = remote
    for entry in reversed(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")[-32:]):
        hop = _parse(entry)
        if hop is None:
            break
        client = hop
        if not _is_trusted_proxy(hop):
            break
    return _text(client)


def _never() -> bool:
    return False


_forwarded_for_trusted: Callable[[], bool] = _never


def set_forwarded_for_trust(lookup: Callable[[], bool]) -> None:
    """Registers where the operator's "trust X-Forwarded-For" switch is read (the partners
    room's referral settings, connected in `PartnersConfig.ready`)."""
    global _forwarded_for_trusted
    _forwarded_for_trusted = lookup


def client_address(meta: Mapping[str, str]) -> str:
    """The client's address (see the module's docstring), canonical, or ""."""
    remote = _parse(meta.get("REMOTE_ADDR", ""))
    if remote is None or not _is_trusted_proxy(remote):
        # No proxy of ours in between: the switch (a settings read) is not even asked.
        return "" if remote is None else _text(remote)
    return client_ip(meta, trust_forwarded_for=_forwarded_for_trusted())


@lru_cache(maxsize=4096)
def _text(address: IPAddress) -> str:
    # str() of an address is rebuilt digit by digit each time; the same few peers ask again.
    return str(address)


def client_address_of(request: HttpRequest) -> str:
    """`client_address` of a request: django-ratelimit's `ip` key (RATELIMIT_IP_META_KEY) and
    django-axes' lockout (AXES_CLIENT_IP_CALLABLE) read it."""
    return client_address(request.META)


# Addresses that name no one: loopback, private (RFC 1918, carrier-grade NAT, unique local),
# link-local, "this network". A proxy that hides its clients shows one of these for all.
_LOCAL_NETWORKS = tuple(ipaddress.ip_network(network) for network in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.168.0.0/16", "::/128", "::1/128", "fc00::/7", "fe80::/10"))


def is_local(value: str) -> bool:
    """Whether the address (or masked network) is loopback, private or link-local: shared by
    everyone behind one proxy or router, so it tells no one apart. Not an address: True."""
    address = _parse(value)
    return address is None or any(address in network for network in _LOCAL_NETWORKS
                                  if network.version == address.version)
