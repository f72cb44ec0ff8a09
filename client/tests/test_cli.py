"""`obmin-partner` as a partner runs it: the installed command, real pipes, a real server."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from obmin.partner_api.schema import METHODS
from obmin.partner_api.services import apikey_create
from obmin_client.cli import CSV_COLUMNS, LISTS

OBMIN_PARTNER = Path(sys.executable).with_name("obmin-partner")

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(OBMIN_PARTNER), *args], capture_output=True, text=True,
                          timeout=120, input=stdin)


def test_help_lists_every_command_on_a_line_of_its_own():
    result = run("--help")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    for command in ("get_info", *LISTS, "add_payout"):
        line = next(line for line in lines if line.split()[:1] == [command])
        assert len(line.split()) > 2, line  # the summary follows on the same line


def test_csv_columns_are_the_documented_fields():
    documented = {m.name: [f.name for f in m.item_fields if f.type != "array"] for m in METHODS}
    for method, columns in CSV_COLUMNS.items():
        assert [c for c in documented[method] if c in columns] == list(columns), method


def test_piping_into_head_ends_quietly(live_server, alice):
    key = apikey_create(partner=alice, name="sandbox", test=True)[1]
    # The sandbox's history since 2024 is megabytes of CSV: far more than a pipe holds, so
    # the command is still writing when head closes its end.
    command = (f"set -o pipefail; '{OBMIN_PARTNER}' --url {live_server.url} --key {key} "
               "get_links --start 2024-01-01 --csv | head -n 3")
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.splitlines()[0].startswith("id,time,date,")
    assert len(result.stdout.splitlines()) == 3
    assert result.stderr == ""  # no BrokenPipeError traceback, no "Exception ignored"
    assert result.returncode == 141  # what a shell reports for a reader that left early


def test_csv_of_an_empty_period_has_its_header(live_server, alice):
    key = apikey_create(partner=alice, name="cli")[1]
    for method, columns in CSV_COLUMNS.items():
        result = run("--url", live_server.url, "--key", key, method, "--start", "2001-01-01",
                     "--end", "2001-01-02", "--csv")
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [",".join(columns)]


def test_csv_neutralises_what_a_spreadsheet_would_run(live_server, alice):
    key = apikey_create(partner=alice, name="cli")[1]
    formula = '=HYPERLINK("http://evil.example","x")'
    with httpx.Client(base_url=live_server.url, cookies={"obmin_vid": "-SUM1234567"},
                      timeout=60) as visitor:
        visitor.get("/ref/alice001/?=cmd|'/C calc'!A0",
                    headers={"Referer": formula, "User-Agent": "Mozilla/5.0 Firefox/120.0"})
    result = run("--url", live_server.url, "--key", key, "get_links", "--csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 1
    row = rows[0]
    assert row["referrer"] == "'" + formula
    assert row["user_hash"] == "'-SUM1234567"
    assert row["query_string"].startswith("'=cmd|")
    assert row["id"].isdigit()  # numbers stay numbers
    for cell in row.values():
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_the_partner_docs_show_how_to_install_and_use_it(client):
    page = client.get("/partners/api/").content.decode()
    assert 'id="client"' in page and "pip install ./client" in page
    assert "obmin-partner get_exchanges" in page and "from obmin_client import PartnerClient" in (
        page)
