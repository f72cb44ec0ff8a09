"""`obmin demo --no-serve` loads a realistic exchanger, and a second run adds nothing twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command

from obmin.exchange.models import Currency, Direction, Exchange

pytestmark = pytest.mark.django_db(transaction=True)

REQUIRED_CODES = {"PMUSD", "BTC", "ETH", "USDTTRC20", "USDTERC20", "P24UAH", "MONOBUAH",
                  "CARDUAH", "ADVCUSD", "PRUSD", "XMR", "LTC", "TON", "SBERRUB", "CASHUSD"}


# The 270 codes BestChange-style monitors know, with their names (shared/spec of the project).
CODES_FILE = Path(__file__).with_name("monitoring-currency-codes.tsv")


def monitoring_codes() -> dict[str, str]:
    lines = CODES_FILE.read_text(encoding="utf-8").splitlines()[1:]
    return dict(line.split("\t", 1) for line in lines if "\t" in line)


def counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_models()
            if m._meta.app_label not in {"sessions", "admin", "contenttypes", "auth", "axes"}}


def test_demo_is_realistic_and_idempotent(capsys):
    call_command("demo", "--no-serve")
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8000/" in out and "admin" in out
    assert set(Currency.objects.values_list("code", flat=True)) >= REQUIRED_CODES
    assert Direction.objects.count() >= 30
    assert Direction.objects.filter(currency_give__code="PMUSD", currency_get__code="BTC",
                                    is_active=True).exists()
    assert Direction.objects.filter(currency_get__code="CASHUSD").exclude(city="").exists()
    assert Exchange.objects.filter(status="success").count() >= 10
    first = counts()
    call_command("demo", "--no-serve")
    assert counts() == first


def test_demo_codes_are_real_monitoring_codes():
    call_command("demo", "--no-serve")
    known = monitoring_codes()
    assert len(known) == 270
    assert set(Currency.objects.values_list("code", flat=True)) <= set(known)


def test_demo_desk_has_claims_to_check_on_block_explorers(client):
    """The operator trying the demo's desk finds what it is for: exchanges the customers say
    are paid, with their transaction ids, linked to the give currency's block explorer."""
    from django.contrib.auth import get_user_model

    call_command("demo", "--no-serve")
    crypto = Currency.objects.filter(code__in=["BTC", "ETH", "LTC", "XMR", "TON", "USDTTRC20",
                                               "USDTERC20"])
    assert all("{txid}" in c.explorer_url for c in crypto)
    claims = Exchange.objects.filter(status="paid")
    assert claims.exists() and all(e.customer_txid for e in claims)
    crypto_claim = claims.filter(currency_give__in=crypto).first()
    assert crypto_claim is not None
    client.force_login(get_user_model().objects.get(username="admin"))
    page = client.get(f"/staff/desk/{crypto_claim.pk}/").content.decode()
    assert 'id="desk-explorer"' in page and crypto_claim.customer_txid in page
