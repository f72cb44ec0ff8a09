"""The JSON writer: exact numbers, the fast date text, the envelope."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from obmin.lib.timeutil import from_unix, utc_date
from obmin.partner_api.envelope import encode, envelope, number, time_fields, unix_date
from obmin.partner_api.params import MAX_UNIX


@given(st.integers(min_value=0, max_value=MAX_UNIX))
def test_unix_date_is_utc_date(seconds):
    assert unix_date(seconds) == utc_date(from_unix(seconds))


@given(st.decimals(allow_nan=False, allow_infinity=False, places=10,
                   min_value=Decimal(-10**19), max_value=Decimal(10**19)))
def test_decimals_are_exact_json_numbers(value):
    text = number(value)
    assert "e" not in text.lower()
    assert json.loads(text, parse_float=Decimal, parse_int=Decimal) == value


def test_envelope_and_empty_objects():
    assert json.loads(envelope({"items": {}})) == {
        "status": "success", "error": 0, "error_text": "", "data": {"items": {}}}
    assert encode({"a": [Decimal("0.10"), 2, True, None, "x\u00e9\ud800"]}) == \
        '{"a":[0.1,2,true,null,"x\\u00e9\\ud800"]}'
    assert json.loads(envelope(error=4, text="limit: bad")) == {
        "status": "error", "error": 4, "error_text": "limit: bad", "data": {}}


@given(st.integers(min_value=0, max_value=MAX_UNIX))
def test_time_fields_write_unix_date(seconds):
    assert time_fields(seconds) == f'"time":{seconds},"date":"{unix_date(seconds)}"'
