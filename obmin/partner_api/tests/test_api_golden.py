"""A request without the new parameters answers exactly what it answered before.

`golden_answers.json` holds the whole answers of get_info, get_links and get_exchanges as the
code gave them before the traffic-source additions (sub1..sub5, country, updated_time), captured
from fixed data at fixed times. Today's answers, with only the added fields removed, must equal
them, key order included; and the added fields must be there.

Ids differ from run to run (database sequences), so they are written as placeholders: the n-th
click, exchange or payout method of the fixture. To capture the file again from the current
code (only ever before a change of the wire): `OBMIN_WRITE_GOLDEN=1 pytest this file`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from obmin.partner_api.tests.conftest import T0

GOLDEN = Path(__file__).with_name("golden_answers.json")

# What this round added to the items; nothing else may differ.
ADDED_CLICK = ("sub1", "sub2", "sub3", "sub4", "sub5", "country")
ADDED_EXCHANGE = (*ADDED_CLICK, "updated_time")

# (name in the golden file, method, options): the requests partners' scripts make today.
REQUESTS: list[tuple[str, str, dict[str, str]]] = [
    ("info", "get_info", {}),
    ("links", "get_links", {}),
    ("links_window", "get_links", {"start_time": str(T0 + 10), "end_time": str(T0 + 3600)}),
    ("links_ip", "get_links", {"ip": "198.51.100.0"}),
    ("links_page", "get_links", {"offset": "1", "limit": "2"}),
    ("exchanges", "get_exchanges", {}),
    ("exchanges_window", "get_exchanges", {"start_time": str(T0 + 150),
                                           "end_time": str(T0 + 86_400)}),
    ("exchanges_page", "get_exchanges", {"offset": "1", "limit": "1"}),
]


def _placeholders(history: dict[str, Any], usdt_method: Any) -> dict[str, dict[str, str]]:
    """Per method, its ids -> placeholders (the tables' ids overlap, so one map per kind)."""
    return {
        "get_links": {str(c.pk): f"click{n}" for n, c in enumerate(history["clicks"])},
        "get_exchanges": {str(e.pk): f"exchange{n}"
                          for n, e in enumerate(history["exchanges"])},
        "get_info": {str(usdt_method.pk): "method0"},
    }


def _normalised(value: Any, names: dict[str, str]) -> Any:
    """The answer with ids replaced by placeholders (item keys and `id`)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "items" and isinstance(item, dict):
                out[key] = {names.get(k, k): _normalised(v, names) for k, v in item.items()}
            elif key == "id" and isinstance(item, int):
                out[key] = names.get(str(item), item)
            else:
                out[key] = _normalised(item, names)
        return out
    if isinstance(value, list):
        return [_normalised(v, names) for v in value]
    return value


def _without_added(body: dict[str, Any], method: str) -> dict[str, Any]:
    if method == "get_info" and isinstance(body.get("data"), dict):
        # Added by the holds (contract section 4): rewards not yet payable.
        assert "balance_pending" in body["data"], "get_info lacks balance_pending"
        del body["data"]["balance_pending"]
        return body
    added = {"get_links": ADDED_CLICK, "get_exchanges": ADDED_EXCHANGE}.get(method, ())
    if not added or not isinstance(body.get("data"), dict):
        return body
    items = body["data"]["items"]
    for item in items.values():
        missing = [name for name in added if name not in item]
        assert not missing, f"{method} item lacks the added fields {missing}"
        for name in added:
            del item[name]
    return body


@pytest.fixture
def answers(api, history, alice_key, usdt_method) -> dict[str, Any]:
    names = _placeholders(history, usdt_method)
    return {name: _normalised(api(alice_key, method, **options)[1], names[method])
            for name, method, options in REQUESTS}


def test_answers_without_new_parameters_are_unchanged(answers):
    if os.environ.get("OBMIN_WRITE_GOLDEN") == "1":
        # Written as compared: without the fields added since the seed.
        GOLDEN.write_text(json.dumps({name: _without_added(answers[name], method)
                                      for name, method, _options in REQUESTS},
                                     indent=1, ensure_ascii=False) + "\n")
        return
    golden = json.loads(GOLDEN.read_text())
    assert list(golden) == [name for name, _m, _o in REQUESTS]
    for name, method, _options in REQUESTS:
        # Compared as text: the order of items and of fields is part of the answer.
        now = json.dumps(_without_added(answers[name], method), ensure_ascii=False)
        assert now == json.dumps(golden[name], ensure_ascii=False), name
