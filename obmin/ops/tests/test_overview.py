"""The operator's overview: staff only, program totals, top partners, unusual traffic, and the
bulk "mark paid" of pending payouts through the payout service."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.partners.models import Click
from obmin.rewards.models import LedgerEntry, Payout, PayoutMethod, PayoutStatus
from obmin.stats.services import clicks_roll_up
from obmin.testing.factories import payout_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def method(db):
    return PayoutMethod.objects.create(title="USDT TRC20", currency_code="USDT")


def earn(direction, partner, amount):
    exchange = exchange_create(direction=direction, amount_give=Decimal(amount),
                               email="customer@example.org", account_get="acc",
                               partner_id=partner.pk)
    exchange_set_status(exchange_id=exchange.pk, status="success")


def test_partners_and_strangers_are_refused(client, alice):
    assert client.get("/staff/overview/").status_code == 302  # to the admin login
    client.force_login(alice.user)
    for path in ("/staff/overview/", "/staff/overview/pending-payouts.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.post("/staff/overview/mark-paid/", {"payout": "1",
                                                      "transaction_id": "x"}).status_code == 302
    assert not Payout.objects.filter(status=PayoutStatus.PAID).exists()


def test_overview_shows_totals_top_partners_and_unusual_networks(client, carol, alice, bob,
                                                                 pm_usdt, program):
    now = timezone.now() - timedelta(minutes=30)
    for n in range(60):
        Click.objects.create(partner=bob, created_at=now, uid=uuid.uuid4(),
                             ip="198.51.100.0" if n < 50 else f"203.0.{n}.0")
    Click.objects.create(partner=alice, created_at=now, uid=uuid.uuid4(), ip="192.0.2.0")
    clicks_roll_up(settle=False)
    earn(pm_usdt, alice, "1000")
    client.force_login(carol)
    # 7 days, not today: in the first half hour of a UTC day these clicks are yesterday's.
    html = client.get("/staff/overview/?period=7d").content.decode()
    assert 'id="stat-clicks">61<' in html
    top = html.split('id="top-turnover"')[1].split("</table>")[0]
    assert "alice@example.com" in top and "bob@example.com" not in top
    unusual = html.split('id="unusual"')[1].split("</ul>")[0]
    assert "bob@example.com" in unusual and "198.51.100.0/24" in unusual
    assert "alice@example.com" not in unusual


def test_bulk_mark_paid_goes_through_the_payout_service(client, carol, alice, bob, pm_usdt,
                                                        program, method):
    earn(pm_usdt, alice, "5000")
    earn(pm_usdt, bob, "8000")
    first = payout_to(partner=alice, method_id=method.pk, account="=TQalice")
    second = payout_to(partner=bob, method_id=method.pk, account="TQbob")
    client.force_login(carol)
    rows = list(csv.reader(io.StringIO(b"".join(client.get(
        "/staff/overview/pending-payouts.csv").streaming_content).decode()[1:])))
    assert rows[0][0] == "id" and len(rows) == 3
    assert rows[1][5] == "'=TQalice"  # neutralised for the spreadsheet
    refused = client.post("/staff/overview/mark-paid/", {"payout": [first.pk]})
    assert refused.status_code == 302
    assert Payout.objects.get(pk=first.pk).status == PayoutStatus.PENDING  # no transaction id
    client.post("/staff/overview/mark-paid/", {"payout": [first.pk, second.pk],
                                               "transaction_id": "tx-42", "note": "batch"})
    for payout in Payout.objects.filter(pk__in=[first.pk, second.pk]):
        assert payout.status == PayoutStatus.PAID and payout.transaction_id == "tx-42"
        assert payout.actor == carol.get_username()
        assert LedgerEntry.objects.filter(payout=payout, kind="payout_paid").exists()
    # Twice: the second time each is refused by the service, nothing changes.
    response = client.post("/staff/overview/mark-paid/", {"payout": [first.pk],
                                                          "transaction_id": "tx-43"}, follow=True)
    assert "already" in response.content.decode()
    assert Payout.objects.get(pk=first.pk).transaction_id == "tx-42"


def test_partners_are_named_by_e_mail_and_code_and_amounts_are_plain(client, carol, alice,
                                                                       pm_usdt, program, method):
    """As everywhere in the back office: `e-mail (code)`; 100 USDT, never `1E+2`."""
    earn(pm_usdt, alice, "5000")
    payout = payout_to(partner=alice, method_id=method.pk, account="TQalice")
    Payout.objects.filter(pk=payout.pk).update(amount=Decimal("100.0000000000"))
    client.force_login(carol)
    html = client.get("/staff/overview/?period=7d").content.decode()
    named = f"alice@example.com ({alice.ref_code})"
    assert named in html.split('id="top-turnover"')[1].split("</table>")[0]
    assert named in html.split('id="top-rewards"')[1].split("</table>")[0]
    payouts = html.split('id="pending-payouts"')[1].split("</table>")[0]
    assert named in payouts
    assert ">100 USDT<" in payouts and "E+" not in payouts


def test_pending_payouts_are_requested_in_utc_as_headed(client, carol, alice, pm_usdt,
                                                        program, method, settings):
    """The back office is in the operator's zone, but this column (and its CSV) says UTC."""
    settings.OPERATOR_TIME_ZONE = "Asia/Tokyo"  # 9 hours from UTC: never the same hour
    earn(pm_usdt, alice, "5000")
    payout = payout_to(partner=alice, method_id=method.pk, account="TQalice")
    client.force_login(carol)
    html = client.get("/staff/overview/").content.decode()
    assert "Requested (UTC)" in html
    assert f"{payout.created_at:%Y-%m-%d %H:%M}" in html  # created_at is in UTC
