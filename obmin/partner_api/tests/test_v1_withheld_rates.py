"""A rate the market sync withholds (stale quotes, a failed source, a jump waiting for the
operator) never reaches a bot, as it never reaches a monitor's export."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from obmin.exchange.models import Direction
from obmin.partner_api.services import apikey_create
from obmin.partner_api.tests.conftest import parse

pytestmark = pytest.mark.django_db


def call(client, method: str, key, raw: str, **params) -> dict:
    return parse(client.post(f"/api/userapi/v1/{method}", params,
                             headers={"API-LOGIN": key.login, "API-KEY": raw}))


@pytest.mark.parametrize("withheld", [
    {"rate_hidden_reason": "binance: the quote is 600 s old (at most 120)"},
    {"rate_valid_until": timezone.now() - timedelta(seconds=1)},  # expired without a sync
])
def test_a_withheld_direction_is_neither_listed_nor_shown_nor_taken(client, alice, pm_btc,
                                                                    pm_usdt, withheld):
    key, raw = apikey_create(partner=alice)
    listed = call(client, "get_directions", key, raw)["data"]
    assert {item["direction_id"] for item in listed} == {str(pm_btc.pk), str(pm_usdt.pk)}
    Direction.objects.filter(pk=pm_btc.pk).update(**withheld)
    listed = call(client, "get_directions", key, raw)["data"]
    assert {item["direction_id"] for item in listed} == {str(pm_usdt.pk)}
    assert call(client, "get_direction", key, raw, direction_id=pm_btc.pk)["error_text"] == (
        "Direction not found")
    assert call(client, "get_calc", key, raw, direction_id=pm_btc.pk,
                calc_amount="100")["error_text"] == "Direction not found"
    bid = call(client, "create_bid", key, raw, direction_id=pm_btc.pk, calc_amount="100",
               account2="bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", cf6="c@example.org")
    assert bid["error"] != "0"
