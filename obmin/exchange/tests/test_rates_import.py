"""The bulk rate feed: `obmin rates import FILE`, the admin upload, and `rates_import`."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from obmin.exchange.models import Currency, Direction
from obmin.exchange.rate_feed import RatesImportError, parse_rates_file, rates_import
from obmin.monitoring.tests import conftest as export_fixtures
from obmin.monitoring.tests.parse import export, txt_items

pytestmark = pytest.mark.django_db

# The export's fixtures (a monitor, varied directions, a clean export memo per test), by name.
_clean_process_state = export_fixtures._clean_process_state
directions, monitor, uah = export_fixtures.directions, export_fixtures.monitor, export_fixtures.uah

GOOD_CSV = """from,to,city,in,out,reserve,min,max
PMUSD,BTC,,101000,1,1.75,20,6000
pmusd,usdttrc20,,1,0.97,,,
USDTTRC20,CASHUAH,kiev,1,41.5,240000,,
"""


def state() -> list[tuple]:
    """Everything an import may change, to compare before and after a refused file."""
    return [
        *Direction.objects.order_by("pk").values_list(
            "rate_give", "rate_get", "min_amount", "max_amount", "rate_updated_at"),
        *Currency.objects.order_by("pk").values_list("code", "reserve"),
    ]


@pytest.fixture
def old_rates(directions):
    Direction.objects.update(rate_updated_at=timezone.now() - timedelta(hours=1))
    return directions


def test_csv_import_updates_rates_limits_and_reserves(tmp_path, capsys, client, monitor,
                                                       old_rates):
    before = txt_items(export(client, "txt", "bestmon1").content)
    assert before[("PMUSD", "BTC", "")][2] == "100000"
    path = tmp_path / "rates.csv"
    path.write_text(GOOD_CSV)
    started = timezone.now()
    call_command("rates", "import", str(path))
    assert capsys.readouterr().out.strip().splitlines()[-1] == \
        "Updated 3 direction(s) and 2 reserve(s)."
    pm_btc = Direction.objects.get(pk=old_rates["pm_btc"].pk)
    assert (pm_btc.rate_give, pm_btc.rate_get) == (Decimal(101000), Decimal(1))
    assert (pm_btc.min_amount, pm_btc.max_amount) == (Decimal(20), Decimal(6000))
    assert pm_btc.rate_updated_at >= started
    pm_usdt = Direction.objects.get(pk=old_rates["pm_usdt"].pk)
    assert pm_usdt.rate_get == Decimal("0.97") and pm_usdt.max_amount == Decimal(10000)
    assert pm_usdt.rate_updated_at >= started
    untouched = Direction.objects.get(pk=old_rates["btc_usd"].pk)
    assert untouched.rate_updated_at < started
    assert Currency.objects.get(code="BTC").reserve == Decimal("1.75")
    assert Currency.objects.get(code="CASHUAH").reserve == Decimal(240000)
    # The export shows it at once.
    after = txt_items(export(client, "txt", "bestmon1").content)
    assert after[("PMUSD", "BTC", "")][2:5] == ["101000", "1", "1.75"]
    assert after[("USDTTRC20", "CASHUAH", "KIEV")][2:5] == ["1", "41.5", "240000"]


def test_semicolon_csv(old_rates):
    rows = parse_rates_file(name="RATES.CSV",
                            content=b"\xef\xbb\xbffrom;to;rate_give;rate_get\nPMUSD;BTC;99000;1\n")
    assert rates_import(rows=rows).directions == 1
    assert Direction.objects.get(pk=old_rates["pm_btc"].pk).rate_give == Decimal(99000)


def test_json_import_with_reserves(tmp_path, capsys, old_rates):
    path = tmp_path / "feed.json"
    path.write_text(json.dumps({
        "rates": [{"from": "PMUSD", "to": "BTC", "rate_give": 102000.5, "rate_get": "1"}],
        "reserves": {"PMUSD": "61000", "btc": 3},
    }))
    call_command("rates", "import", str(path))
    assert capsys.readouterr().out.strip() == "Updated 1 direction(s) and 2 reserve(s)."
    assert Direction.objects.get(pk=old_rates["pm_btc"].pk).rate_give == Decimal("102000.5")
    assert Currency.objects.get(code="PMUSD").reserve == Decimal(61000)
    assert Currency.objects.get(code="BTC").reserve == Decimal(3)


def test_json_list_of_rows_and_reserve_rows(old_rates):
    rows = parse_rates_file(name="feed.json", content=json.dumps([
        {"from": "BTC", "to": "PMUSD", "in": "1", "out": "94000"},
        {"currency": "USDTTRC20", "reserve": "123.45"},
    ]).encode())
    result = rates_import(rows=rows)
    assert (result.directions, result.reserves) == (1, 1)
    assert Currency.objects.get(code="USDTTRC20").reserve == Decimal("123.45")


BAD_FILES = [
    ("rates.csv", "from,to,in,out\nPMUSD,BTC,100,1\nPMUSD,NOPE,1,1\n",
     "line 3: unknown currency 'NOPE'."),
    ("rates.csv", "from,to,in,out\nPMUSD,BTC,abc,1\n", "line 2: in is not a number: 'abc'."),
    ("rates.csv", "from,to,in,out\nPMUSD,BTC,100,0\n",
     "line 2: out must be greater than zero, got 0."),
    ("rates.csv", "from,to,in,out\nPMUSD,BTC,100,0.00000000001\n",
     "line 2: out must be greater than zero, got 0.00000000001."),
    ("rates.csv", "from,to,in,out\nPMUSD,BTC,-1,1\n",
     "line 2: in must be greater than zero, got -1."),
    ("rates.csv", "from,to,in,out\nPMUSD,BTC,NaN,1\n", "line 2: in is out of range: NaN."),
    ("rates.csv", "from,to,in,out\nPMUSD,BTC,1e40,1\n", "line 2: in is out of range: 1e40."),
    ("rates.csv", "from,to,in\nPMUSD,BTC,100\n", "line 2: out is missing."),
    ("rates.csv", "from,to,in,out,rat\nPMUSD,BTC,100,1,2\n",
     "line 2: unknown column 'rat'; known: city, currency, from, in, max, min, out, reserve, to."),
    ("rates.csv", "from,to,in,out\nBTC,USDTTRC20,1,90000\n",
     "line 2: no exchange direction BTC → USDTTRC20."),
    ("rates.csv", "from,to,in,out\nPMUSD,BTC,100,1\nPMUSD,BTC,101,1\n",
     "line 3: direction PMUSD → BTC is given twice."),
    ("rates.csv", "from,to,in,out,min,max\nPMUSD,BTC,100,1,50,20\n",
     "line 2: maximum 20 is below minimum 50."),
    ("rates.csv", "from,to,in,out,reserve\nPMUSD,BTC,100,1,-3\n",
     "line 2: reserve must not be negative, got -3."),
    ("rates.csv", "from,to,in,out,reserve\nPMUSD,BTC,100,1,3\nUSDTTRC20,BTC,1,1,4\n",
     "line 3: no exchange direction USDTTRC20 → BTC."),
    ("rates.csv", "currency,reserve\nBTC,3\nbtc,4\n",
     "line 3: reserve of BTC 4 differs from 3 given in line 2."),
    ("rates.csv", "currency,reserve,in\nBTC,3,2\n",
     "line 2: a reserve row (with currency) cannot have: in."),
    ("rates.csv", "from,to,in,out\n", "The file has no rows."),
    ("rates.csv", "from,to,in,out\nPMUSD,BTC,100,1,5\n",
     "line 2: more cells than columns in the header."),
    ("rates.json", '{"rates": [{"from": "PMUSD"', "Not valid JSON: "),
    ("rates.json", '{"rates": [["PMUSD", "BTC", 1, 1]]}', "item 1: not an object."),
    ("rates.json", '{"rates": [], "reserves": {"XYZ": 1}}', "reserves.XYZ: unknown currency"),
    ("rates.json", '"hello"', 'JSON must be a list of rows or {"rates": [...], "reserves"'),
    ("rates.xlsx", "whatever", "Unsupported file type '.xlsx': use .csv or .json."),
]


@pytest.mark.parametrize(("name", "content", "reason"), BAD_FILES,
                         ids=[reason[:40] for _, _, reason in BAD_FILES])
def test_a_bad_file_changes_nothing(tmp_path, client, monitor, old_rates, name, content,
                                    reason):
    path = tmp_path / name
    path.write_text(content)
    before = state()
    exported = export(client, "xml", "bestmon1").content
    with pytest.raises(CommandError) as error:
        call_command("rates", "import", str(path))
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{name}: {reason}"), message
    assert state() == before
    assert export(client, "xml", "bestmon1").content == exported


def test_the_first_rows_are_not_applied_when_a_later_one_is_bad(old_rates):
    rows = [{"from": "PMUSD", "to": "BTC", "in": "1", "out": "1"},
            {"from": "PMUSD", "to": "USDTTRC20", "in": "0", "out": "1",
             "_where": "the second row"}]
    before = state()
    with pytest.raises(RatesImportError, match="^the second row: in must be greater"):
        rates_import(rows=rows)
    assert state() == before


def test_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="nothing.csv: No such file or directory"):
        call_command("rates", "import", str(tmp_path / "nothing.csv"))


def test_admin_upload(client, carol, monitor, old_rates):
    client.force_login(carol)
    page = client.get("/admin/exchange/direction/import-rates/")
    assert page.status_code == 200
    bad = client.post("/admin/exchange/direction/import-rates/", {
        "file": SimpleUploadedFile("r.csv", b"from,to,in,out\nPMUSD,BTC,x,1\n")})
    assert bad.status_code == 200
    assert "line 2: in is not a number: &#x27;x&#x27;." in bad.content.decode()
    good = client.post("/admin/exchange/direction/import-rates/", {
        "file": SimpleUploadedFile("r.csv", GOOD_CSV.encode())}, follow=True)
    assert "Updated 3 direction(s) and 2 reserve(s)." in good.content.decode()
    client.logout()
    items = txt_items(export(client, "txt", "bestmon1").content)
    assert items[("PMUSD", "BTC", "")][2:5] == ["101000", "1", "1.75"]


def test_the_import_page_is_for_staff_only(client, alice):
    client.force_login(alice.user)
    response = client.get("/admin/exchange/direction/import-rates/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
