"""`obmin worker`: its duties and queued tasks run, a failing duty does not stop it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from obmin.ops.worker import Duty, ObminWorker
from obmin.partners.ingest import ClickData, new_click_uid
from obmin.partners.models import Click

pytestmark = pytest.mark.django_db(transaction=True)


def test_burst_writes_spooled_clicks_and_exits(alice, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    spool = tmp_path / "spool"
    spool.mkdir()
    click = ClickData(uid=new_click_uid(), created_at=timezone.now(), code="ALICE001",
                      partner_id=None, user_hash="", is_bot=False, browser="Firefox 121",
                      ip="198.51.100.0", referrer="", query_string="", user_agent="",
                      seen_today=None)
    (spool / "clicks.jsonl").write_text(click.to_json() + "\n")
    call_command("worker", "--burst")
    assert Click.objects.get().partner_id == alice.pk
    assert not list(spool.iterdir())


def test_a_failing_duty_is_logged_and_the_others_run(caplog):
    ran = []

    def broken() -> int:
        raise RuntimeError("the database went away")

    def fine() -> int:
        ran.append(1)
        return 1

    worker = ObminWorker(duties=[Duty("broken", 1, broken), Duty("fine", 1, fine)],
                         interval=0.1, burst=True, worker_id="test")
    worker.run()
    assert ran == [1]
    assert "duty 'broken' failed" in caplog.text


def test_the_command_line_burst_exits_zero(tmp_path: Path):
    obmin = Path(sys.executable).with_name("obmin")
    env = {**os.environ, "OBMIN_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    subprocess.run([str(obmin), "migrate", "-v0"], env=env, check=True, timeout=120)
    result = subprocess.run([str(obmin), "worker", "--burst"], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    bad = subprocess.run([str(obmin), "worker", "--interval", "0"], env=env,
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode != 0
    assert bad.stderr.strip() == "CommandError: --interval must be greater than 0."
