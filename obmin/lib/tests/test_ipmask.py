"""IP masking and choosing the client's address."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from obmin.lib.ipmask import client_ip, mask_ip, normalize_ip


def test_ipv4_loses_its_last_octet():
    assert mask_ip("203.0.113.57") == "203.0.113.0"
    assert mask_ip(" 10.1.2.255 ") == "10.1.2.0"


def test_ipv6_loses_its_last_80_bits():
    assert mask_ip("2001:db8:85a3:8d3:1319:8a2e:370:7348") == "2001:db8:85a3::"
    assert mask_ip("2001:0DB8:0000:0001::1") == "2001:db8::"
    assert mask_ip("[2001:db8:85a3::1]:443") == "2001:db8:85a3::"


def test_ipv4_mapped_ipv6_is_masked_as_ipv4():
    assert mask_ip("::ffff:198.51.100.7") == "198.51.100.0"


def test_garbage_is_never_stored_as_given():
    for value in ["", "unknown", "1.2.3", "x" * 10_000, "1.2.3.4\x00", "<script>", "999.1.1.1"]:
        assert mask_ip(value) == ""
        assert normalize_ip(value) == ""


@given(st.ip_addresses())
def test_masked_address_is_the_network_of_the_address(address):
    masked = ipaddress.ip_address(mask_ip(str(address)))
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    assert masked in ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    assert int(masked) & ((1 << (address.max_prefixlen - prefix)) - 1) == 0


def test_client_ip_ignores_forwarded_for_unless_trusted():
    meta = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.7"}
    assert client_ip(meta) == "127.0.0.1"
    # Behind our proxy the last entry is what the proxy saw; the first is the client's claim.
    assert client_ip(meta, trust_forwarded_for=True) == "198.51.100.7"


def test_client_ip_falls_back_to_the_peer_when_forwarded_for_is_garbage():
    meta = {"REMOTE_ADDR": "192.0.2.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4, nonsense"}
    assert client_ip(meta, trust_forwarded_for=True) == "192.0.2.1"
    assert client_ip({}, trust_forwarded_for=True) == ""


def test_local_addresses_tell_no_one_apart():
    from obmin.lib.ipmask import is_local

    for address in ("127.0.0.1", "10.1.2.0", "192.168.0.7", "172.20.0.0", "100.64.1.1",
                    "::1", "fd00::1", "fe80::1", "not an address"):
        assert is_local(address), address
    for address in ("203.0.113.0", "198.51.100.7", "8.8.8.8", "2001:db8:85a3::"):
        assert not is_local(address), address
