"""The operator's desk: the queue and its count, one exchange's page, and its buttons, each
changing the status once however often it is pressed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from obmin.exchange.models import Currency, Exchange, ExchangeStatus
from obmin.exchange.services import customer_mark_paid, exchange_create, exchange_set_status

pytestmark = pytest.mark.django_db
ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


@pytest.fixture
def operator(carol):
    client = Client()
    client.force_login(carol)
    return client


@pytest.fixture
def paid(pm_btc):
    Currency.objects.filter(code="PMUSD").update(explorer_url="https://explorer.example/tx/{txid}")
    Currency.objects.filter(code="BTC").update(account_format="bitcoin")
    exchange = exchange_create(direction=pm_btc, amount_give=Decimal(1000),
                               email="c@example.org", account_get=ADDRESS)
    return customer_mark_paid(token=exchange.token, txid="abc123")


def history(exchange: Exchange) -> list[str]:
    return list(exchange.status_changes.values_list("status", flat=True))


def test_queue_lists_waiting_exchanges_newest_claim_first_with_the_count(operator, pm_btc,
                                                                         paid):
    older = exchange_create(direction=pm_btc, amount_give=Decimal(500), email="o@example.org",
                            account_get=ADDRESS)
    exchange_set_status(exchange_id=older.pk, status="received")
    untouched = exchange_create(direction=pm_btc, amount_give=Decimal(20),
                                email="n@example.org", account_get=ADDRESS)
    page = operator.get("/staff/desk/").content.decode()
    assert "<title>(2) " in page
    assert f"#{older.pk}<" in page and f"#{paid.pk}<" in page
    assert f"#{untouched.pk}<" not in page  # new: the customer has not paid yet
    assert page.index(f"#{older.pk}<") < page.index(f"#{paid.pk}<")  # claimed last, first
    assert "1000 PMUSD" in page and "0.01 BTC" in page  # plain decimals with the currency
    assert operator.get(f"/staff/desk/?direction={pm_btc.pk}&age=1h").content.decode().count(
        "open-exchange") == 0  # none has waited an hour
    index = operator.get("/admin/").content.decode()
    assert 'id="desk-count">2<' in index and "/staff/overview/" in index
    assert "<title>(2) " in index


def test_exchange_page_shows_what_to_check(operator, paid):
    page = operator.get(f"/staff/desk/{paid.pk}/").content.decode()
    assert "1000 PMUSD" in page and "0.01 BTC" in page and ADDRESS in page
    assert "https://explorer.example/tx/abc123" in page
    assert "checksum correct" in page
    assert "UTC" in page
    for status in ("received", "success", "error", "cancelled"):
        assert f'id="action-{status}"' in page


def test_the_account_checksum_failure_is_shown(operator, paid):
    Exchange.objects.filter(pk=paid.pk).update(account_get=ADDRESS[:-1] + "x")
    assert "not a valid" in operator.get(f"/staff/desk/{paid.pk}/").content.decode()


@pytest.mark.parametrize(("status", "extra"), [
    ("received", {}),
    ("success", {"txid": "payout-tx-1"}),
    ("error", {"note": "wrong amount"}),
    ("cancelled", {"note": "customer asked"}),
])
def test_a_double_click_on_any_button_changes_the_status_once(operator, paid, status, extra):
    form = {"status": status, "shown": "paid", **extra}
    first = operator.post(f"/staff/desk/{paid.pk}/act/", form, follow=True)
    second = operator.post(f"/staff/desk/{paid.pk}/act/", form, follow=True)
    assert first.status_code == second.status_code == 200
    paid.refresh_from_db()
    assert paid.status == status
    assert history(paid) == ["new", "paid", status]
    assert "no longer" in second.content.decode()
    if status == "success":
        assert paid.payout_txid == "payout-tx-1"
        assert Currency.objects.get(code="BTC").reserve == Decimal("1.99")  # moved once


def test_success_needs_the_payout_txid_and_error_a_reason(operator, paid):
    operator.post(f"/staff/desk/{paid.pk}/act/", {"status": "success", "shown": "paid"})
    operator.post(f"/staff/desk/{paid.pk}/act/", {"status": "error", "shown": "paid"})
    paid.refresh_from_db()
    assert paid.status == ExchangeStatus.PAID


def test_only_staff_reach_the_desk(client, alice, paid):
    assert client.get("/staff/desk/").status_code == 302
    client.force_login(alice.user)
    assert client.get(f"/staff/desk/{paid.pk}/").status_code == 302
    client.post(f"/staff/desk/{paid.pk}/act/", {"status": "cancelled", "shown": "paid",
                                                "note": "x"})
    paid.refresh_from_db()
    assert paid.status == ExchangeStatus.PAID


def test_times_are_in_the_operators_zone_and_named(operator, paid, settings):
    from zoneinfo import ZoneInfo

    settings.OPERATOR_TIME_ZONE = "Europe/Kyiv"
    kyiv = paid.created_at.astimezone(ZoneInfo("Europe/Kyiv"))
    page = operator.get(f"/staff/desk/{paid.pk}/").content.decode()
    assert f"{kyiv:%Y-%m-%d %H:%M:%S} Europe/Kyiv" in page
    queue = operator.get("/staff/desk/").content.decode()
    changed = paid.status_changed_at.astimezone(ZoneInfo("Europe/Kyiv"))
    assert "Europe/Kyiv" in queue and f"{changed:%Y-%m-%d %H:%M}" in queue


def test_the_admin_shows_times_in_the_operators_zone_too(operator, paid, settings):
    """The admin's exchange page and list use the desk's zone, not UTC beside it."""
    from zoneinfo import ZoneInfo

    settings.OPERATOR_TIME_ZONE = "Europe/Kyiv"
    kyiv = paid.created_at.astimezone(ZoneInfo("Europe/Kyiv"))
    page = operator.get(f"/admin/exchange/exchange/{paid.pk}/change/").content.decode()
    assert f"{kyiv:%Y-%m-%d %H:%M:%S} Europe/Kyiv" in page
    listing = operator.get("/admin/exchange/exchange/").content.decode()
    assert f"{kyiv:%Y-%m-%d %H:%M}" in listing
    # The customer's pages keep UTC.
    assert timezone.get_current_timezone_name() == "UTC"
