"""A NUL in a back-office parameter is a 400 that changes nothing, never a database error (on
PostgreSQL a transaction id with a NUL answered 500); the public pages keep their own handling."""

from __future__ import annotations

import pytest

from obmin.exchange.models import Exchange
from obmin.ops.tests.test_overview import earn
from obmin.rewards.models import Payout, PayoutMethod, PayoutStatus
from obmin.testing.factories import payout_to

pytestmark = pytest.mark.django_db


def test_a_nul_in_the_admins_search_is_a_400(client, carol):
    client.force_login(carol)
    assert client.get("/admin/exchange/exchange/", {"q": "a"}).status_code == 200
    refused = client.get("/admin/exchange/exchange/?q=a%00b")
    assert refused.status_code == 400 and b"NUL" in refused.content
    assert client.get("/admin/partners/partner/?q%00=a").status_code == 400


def test_a_nul_in_a_form_is_a_400_that_changes_nothing(client, carol, alice, pm_usdt,
                                                        program):
    method = PayoutMethod.objects.create(title="USDT TRC20", currency_code="USDT")
    earn(pm_usdt, alice, "5000")
    payout = payout_to(partner=alice, method_id=method.pk, account="TQalice")
    client.force_login(carol)
    answer = client.post("/staff/overview/mark-paid/", {"payout": [payout.pk],
                                                        "transaction_id": "tx\x0042"})
    assert answer.status_code == 400
    assert Payout.objects.get(pk=payout.pk).status == PayoutStatus.PENDING
    # The exchange form says what is wrong instead (its own tests).
    exchanges = Exchange.objects.count()
    answer = client.post("/exchange/", {"email": "a\x00@example.com"})
    assert answer.status_code < 500 and Exchange.objects.count() == exchanges


def test_the_apis_keep_their_own_envelope(client):
    answer = client.get("/api/userapi/v1/get_directions?x=a%00b")
    assert answer["Content-Type"].startswith("application/json")
