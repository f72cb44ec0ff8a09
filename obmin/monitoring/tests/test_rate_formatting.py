"""Rates, limits and fees as the wire writes them: never 0, never an exponent, one side 1."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obmin.monitoring.formats import (
    ExportEntry,
    normalize_rate,
    render_json,
    render_txt,
    render_xml,
)

PLAIN_NUMBER = re.compile(r"^\d+(\.\d*[1-9])?$")

# Any rate a DecimalField(max_digits=30, decimal_places=10) can hold, but zero.
rates = st.decimals(min_value=Decimal("0.0000000001"), max_value=Decimal("99999999999999999999"),
                    places=10, allow_nan=False, allow_infinity=False)


@given(rate_give=rates, rate_get=rates)
def test_rate_is_plain_nonzero_and_one_sided(rate_give, rate_get):
    rate_in, rate_out = normalize_rate(rate_give, rate_get)
    assert "1" in (rate_in, rate_out)
    for text in (rate_in, rate_out):
        assert PLAIN_NUMBER.match(text), text
        assert Decimal(text) > 0
    # Written with enough digits that the rate is the one set, to 1e-9 relative.
    written = Decimal(rate_out) / Decimal(rate_in)
    exact = rate_get / rate_give
    assert abs(written - exact) <= exact * Decimal("1e-9")


@pytest.mark.parametrize(("give", "get", "expected"), [
    ("100000", "1", ("100000", "1")),
    ("1", "0.0000101", ("99009.90099", "1")),
    ("1", "95000.5", ("1", "95000.5")),
    ("3", "3", ("1", "1")),
    ("0.0000000001", "99999999999999999999", ("1", "1" + "0" * 30)),
])
def test_known_rates(give, get, expected):
    assert normalize_rate(Decimal(give), Decimal(get)) == expected


@pytest.mark.parametrize(("give", "get"), [("0", "1"), ("1", "0"), ("-1", "1")])
def test_a_zero_or_negative_rate_is_refused(give, get):
    with pytest.raises(ValueError):
        normalize_rate(Decimal(give), Decimal(get))


@given(rate_give=rates, rate_get=rates,
       city=st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S"]),
                    max_size=20))
def test_every_format_parses_back(rate_give, rate_get, city):
    rate_in, rate_out = normalize_rate(rate_give, rate_get)
    city = city.replace(";", "")  # the TXT form has no quoting; cities are plain codes
    entry = ExportEntry(from_code="PMUSD", to_code="BTC", rate_in=rate_in, rate_out=rate_out,
                        amount="3.5", minamount="10 PMUSD", maxamount="5000 PMUSD", city=city)
    item = ET.fromstring(render_xml([entry])).find("item")
    assert item is not None
    assert (item.findtext("in"), item.findtext("out")) == (rate_in, rate_out)
    assert (item.findtext("city") or "") == city
    parsed = json.loads(render_json([entry]))["rates"][0]
    assert (parsed["in"], parsed["out"], parsed.get("city", "")) == (rate_in, rate_out, city)
    assert render_txt([entry]).decode() == f"PMUSD;BTC;{rate_in};{rate_out};3.5;{city};\n"
