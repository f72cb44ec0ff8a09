"""Exchange.updated_at follows every change of status, accrual or reward (incremental sync)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from obmin.exchange.models import Exchange
from obmin.exchange.services import exchange_create, exchange_record_reward, exchange_set_status

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(days=40)


def make(pm_btc) -> Exchange:
    exchange = exchange_create(direction=pm_btc, amount_give=Decimal(100),
                               email="c@example.org", account_get="bc1qcustomerwallet")
    assert exchange.updated_at == exchange.created_at
    old = exchange.created_at - LONG_AGO
    Exchange.objects.filter(pk=exchange.pk).update(created_at=old, updated_at=old)
    exchange.refresh_from_db()
    return exchange


def test_a_status_change_moves_updated_at(pm_btc):
    exchange = make(pm_btc)
    before = exchange.updated_at
    changed = exchange_set_status(exchange_id=exchange.pk, status="success")
    changed.refresh_from_db()
    assert changed.updated_at > before + LONG_AGO - timedelta(minutes=1)
    assert changed.updated_at == changed.status_changed_at


def test_a_reward_change_moves_updated_at_and_an_unchanged_one_does_not(pm_btc):
    exchange = make(pm_btc)
    before = exchange.updated_at
    exchange_record_reward(exchange=exchange, amount=Decimal("2.5"), accrued=True)
    exchange.refresh_from_db()
    moved = exchange.updated_at
    assert moved > before and (exchange.partner_reward, exchange.reward_accrued) == (
        Decimal("2.5"), True)
    exchange_record_reward(exchange=exchange, amount=Decimal("2.5"), accrued=True)
    exchange.refresh_from_db()
    assert exchange.updated_at == moved
    exchange_record_reward(exchange=exchange, amount=Decimal(0), accrued=False)
    exchange.refresh_from_db()
    assert exchange.updated_at >= moved and not exchange.reward_accrued
