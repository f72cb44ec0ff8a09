"""The country of an address: the built-in data, and an operator's MaxMind file first."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from obmin.lib import geo
from obmin.lib.geo import country_of


@pytest.fixture(autouse=True)
def _no_maxmind(settings):
    settings.GEOIP_DB = ""
    geo._maxmind.cache_clear()  # a file of the same name in another test is another file
    yield
    geo._maxmind.cache_clear()


def test_ipv4():
    assert country_of("8.8.8.8") == "US"
    assert country_of("193.0.6.139") == "NL"  # RIPE NCC, Amsterdam


def test_ipv6():
    assert country_of("2001:4860:4860::8888") == "US"
    assert country_of("2a00:1450:4001:82b::200e") == "IE"


@pytest.mark.parametrize("address", ["10.0.0.1", "192.168.1.1", "127.0.0.1", "::1", "fe80::1",
                                     "203.0.113.5", "", "not an address", "999.1.1.1"])
def test_unknown_private_or_malformed_is_empty(address):
    assert country_of(address) == ""


# --- an operator's MaxMind DB ---------------------------------------------------------------
# A real MaxMind DB file, written here by hand (format 2.0: a search tree of 24-bit records,
# a data section, the metadata), holding one network. Only what the format needs.


class U16(int):
    pass


class U64(int):
    pass


def _mmdb_value(value: object) -> bytes:
    if isinstance(value, U16):  # uint16 (5)
        data = value.to_bytes(2, "big").lstrip(b"\0")
        return bytes([(5 << 5) | len(data)]) + data
    if isinstance(value, U64):  # an extended type: uint64 (9)
        data = value.to_bytes(8, "big").lstrip(b"\0")
        return bytes([len(data), 9 - 7]) + data
    if isinstance(value, str):
        data = value.encode()
        assert len(data) < 29
        return bytes([(2 << 5) | len(data)]) + data
    if isinstance(value, dict):
        assert len(value) < 29
        return bytes([(7 << 5) | len(value)]) + b"".join(
            _mmdb_value(k) + _mmdb_value(v) for k, v in value.items())
    if isinstance(value, list):  # an extended type: array (11)
        return bytes([len(value), 11 - 7]) + b"".join(_mmdb_value(v) for v in value)
    if isinstance(value, int):  # uint32 (6)
        data = value.to_bytes(4, "big").lstrip(b"\0")
        return bytes([(6 << 5) | len(data)]) + data
    raise TypeError(value)


def _mmdb(network: str, record: dict) -> bytes:
    net = ipaddress.IPv4Network(network)
    bits = [(int(net.network_address) >> (31 - i)) & 1 for i in range(net.prefixlen)]
    node_count = len(bits)
    data = _mmdb_value(record)
    pointer = node_count + 16  # data at offset 0 of the data section
    tree = b""
    for i, bit in enumerate(bits):
        onward = i + 1 if i + 1 < node_count else pointer
        left, right = (onward, node_count) if bit == 0 else (node_count, onward)
        tree += struct.pack(">I", left)[1:] + struct.pack(">I", right)[1:]
    # libmaxminddb checks each metadata value's type, as the format names it.
    metadata = {"node_count": node_count, "record_size": U16(24), "ip_version": U16(4),
                "database_type": "Test-Country", "languages": ["en"],
                "binary_format_major_version": U16(2), "binary_format_minor_version": U16(0),
                "build_epoch": U64(1_700_000_000), "description": {"en": "test"}}
    return (tree + b"\0" * 16 + data + b"\xab\xcd\xefMaxMind.com"
            + _mmdb_value(metadata))


def test_a_maxmind_file_is_asked_first(settings, tmp_path):
    path = tmp_path / "country.mmdb"
    path.write_bytes(_mmdb("8.8.8.0/24", {"country": {"iso_code": "UA"}}))
    settings.GEOIP_DB = str(path)
    assert country_of("8.8.8.8") == "UA"  # the operator's data wins
    assert country_of("193.0.6.139") == "NL"  # not in the file: the built-in data
    assert country_of("2001:4860:4860::8888") == "US"  # an IPv4-only file cannot say
    assert country_of("10.0.0.1") == ""


def test_registered_country_when_the_place_is_unknown(settings, tmp_path):
    path = tmp_path / "country.mmdb"
    path.write_bytes(_mmdb("8.8.8.0/24", {"registered_country": {"iso_code": "pl"}}))
    settings.GEOIP_DB = str(path)
    assert country_of("8.8.8.8") == "PL"


def test_a_missing_or_broken_file_falls_back_to_the_built_in_data(settings, tmp_path, caplog):
    settings.GEOIP_DB = str(tmp_path / "none.mmdb")
    assert country_of("8.8.8.8") == "US"
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"not a database")
    settings.GEOIP_DB = str(broken)
    assert country_of("8.8.8.8") == "US"
    assert "cannot be read" in caplog.text
