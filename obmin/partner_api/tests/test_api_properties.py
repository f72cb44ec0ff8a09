"""Whatever parameters arrive, api.php answers the envelope: never a 500, never bare text."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obmin.partner_api.tests.conftest import URL

NAMES = ["api_action", "api_key", "method", "start_time", "end_time", "ip", "limit", "offset",
         "method_id", "account"]
METHODS = ["get_info", "get_exchanges", "get_links", "get_payouts", "add_payout"]
numbers = st.one_of(st.integers(min_value=-(10**30), max_value=10**30).map(str),
                    st.floats(allow_nan=True, allow_infinity=True).map(str))
ips = st.one_of(st.ip_addresses().map(str), st.sampled_from(["::ffff:1.2.3.4", "1.2.3.4/8",
                                                             "[::1]", "1.2.3.4:80"]))
text = st.text(max_size=40)
values = st.one_of(text, numbers, ips, st.sampled_from(METHODS + ["pp", ""]))
params = st.fixed_dictionaries(
    {"api_action": st.one_of(st.just("pp"), text), "method": st.one_of(st.sampled_from(METHODS),
                                                                        text)},
    optional={name: values for name in NAMES if name not in ("api_action", "method")}
    | {"junk": text, "start_time": numbers, "end_time": numbers, "limit": numbers,
       "offset": numbers, "ip": st.one_of(ips, text),
       # Real method ids too, so add_payout reaches the database write.
       "method_id": st.one_of(values, st.sampled_from(["1", "2", "3"]))},
)


@pytest.fixture
def unlimited(settings):
    settings.PARTNER_API_RATE = "100000/h"
    settings.PARTNER_API_BAD_KEY_RATE = "100000/h"


@pytest.fixture
def funded(history):
    """Alice's pending payout cancelled: her balance is back, so add_payout can write."""
    from obmin.rewards.models import Payout
    from obmin.rewards.services import payout_cancel

    for payout in Payout.objects.filter(partner__ref_code="alice001", status=0):
        payout_cancel(partner=payout.partner, payout_id=payout.pk)


keys = st.sampled_from(["good", "test", "bad", "none"])


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(options=params, which=keys, via=st.sampled_from(["get", "post", "header"]))
def test_any_parameters_get_the_envelope(client, history, funded, alice_key, alice_test_key,
                                         unlimited, options, which, via):
    key = {"good": alice_key, "test": alice_test_key, "bad": "obm_live_nope", "none": ""}[which]
    headers = {}
    if via == "header":
        headers["Authorization"] = f"Bearer {key}"
    else:
        options.setdefault("api_key", key)
    if via == "post":
        response = client.post(URL, options, headers=headers)
    else:
        response = client.get(URL, options, headers=headers)
    assert response.status_code in (200, 429)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    answer = json.loads(body)
    assert set(answer) == {"status", "error", "error_text", "data"}
    assert answer["error"] in (0, 1, 2, 3, 4, 5)
    assert answer["status"] == ("success" if answer["error"] == 0 else "error")
    assert isinstance(answer["data"], dict)
    if answer["error"]:
        assert answer["error_text"] and answer["data"] == {}


def test_nul_in_the_account_is_error_4_naming_it(client, history, funded, alice_key, unlimited):
    from obmin.rewards.models import Payout

    before = Payout.objects.count()
    response = client.post(URL, {"api_action": "pp", "api_key": alice_key, "method": "add_payout",
                                 "method_id": str(history["payout"].method_id),
                                 "account": "TQ\x00alice"})
    answer = json.loads(response.content)
    assert (answer["error"], answer["error_text"].split(":")[0]) == (4, "account")
    assert Payout.objects.count() == before
