"""The SDK and CLI against a real Obmin server (pytest-django's live server)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.partner_api.services import apikey_create
from obmin_client import ObminAPIError, PartnerClient
from obmin_client.cli import main

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_key(alice):
    return apikey_create(partner=alice, name="sdk")[1]


def test_get_info_and_exchanges(live_server, alice, alice_key, pm_usdt):
    exchange = exchange_create(direction=pm_usdt, amount_give=Decimal("150"),
                               email="c@example.org", account_get="T1", partner_id=alice.pk)
    exchange_set_status(exchange_id=exchange.pk, status="success")
    with PartnerClient(live_server.url, alice_key) as client:
        info = client.get_info()
        assert info["link"].endswith("/ref/alice001/")
        items = client.get_exchanges()
    assert list(items) == [str(exchange.pk)]
    assert items[str(exchange.pk)]["amount_give"] == Decimal("150")
    assert items[str(exchange.pk)]["exchange_success"] == 1


def test_bad_key_raises_the_envelope_error(live_server, alice):
    with PartnerClient(live_server.url, "obm_live_nope") as client, \
            pytest.raises(ObminAPIError) as caught:
        client.get_info()
    assert caught.value.code == 1


def test_cli_prints_json_and_csv(live_server, alice, alice_key, pm_usdt, capsys):
    exchange_create(direction=pm_usdt, amount_give=Decimal("99.5"), email="c@example.org",
                    account_get="T1", partner_id=alice.pk)
    assert main(["--url", live_server.url, "--key", alice_key, "get_info"]) == 0
    assert "alice001" in capsys.readouterr().out
    assert main(["--url", live_server.url, "--key", alice_key, "get_exchanges",
                 "--start", "2000-01-01", "--csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "amount_give" in lines[0] and "99.5" in lines[1]
    assert main(["--url", live_server.url, "--key", "obm_live_bad", "get_info"]) == 1
