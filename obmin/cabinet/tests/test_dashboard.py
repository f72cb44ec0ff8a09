"""The dashboard and exchange list show the partner's own numbers, and only its own."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.exchange.services import exchange_create, exchange_set_status

pytestmark = pytest.mark.django_db


def referred(direction, partner, amount="100", success=True):
    exchange = exchange_create(direction=direction, amount_give=Decimal(amount),
                               email="customer@example.org", account_get="acc",
                               partner_id=partner.pk)
    if success:
        exchange_set_status(exchange_id=exchange.pk, status="success")
    return exchange


def test_dashboard_counts_own_exchanges_only(client, alice, bob, pm_usdt):
    referred(pm_usdt, alice, "100")
    referred(pm_usdt, alice, "200", success=False)
    referred(pm_usdt, bob, "300")
    client.force_login(alice.user)
    html = client.get("/cabinet/").content.decode()
    assert 'id="stat-exchanges">2<' in html
    assert 'id="stat-successful">1<' in html


def test_exchange_list_never_shows_another_partners_exchange(client, alice, bob, pm_usdt):
    mine = referred(pm_usdt, alice, "123")
    theirs = referred(pm_usdt, bob, "456")
    client.force_login(alice.user)
    html = client.get("/cabinet/exchanges/").content.decode()
    assert f"<td>{mine.pk}</td>" in html
    assert f"<td>{theirs.pk}</td>" not in html and "456" not in html


def test_dashboard_counts_own_human_clicks(client, alice, bob, midday):
    from obmin.partners.models import Click

    Click.objects.create(partner=alice, user_hash="v1", is_unique=True)
    Click.objects.create(partner=alice, user_hash="v1", is_unique=False)
    Click.objects.create(partner=alice, user_hash="bot", is_bot=True)
    Click.objects.create(partner=bob, user_hash="v2")
    client.force_login(alice.user)
    response = client.get("/cabinet/")
    html = response.content.decode()
    assert 'id="stat-clicks">2<' in html and 'id="stat-unique">1<' in html
    assert response.context["chart"]["clicks"][-1] == 1
