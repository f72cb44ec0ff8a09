"""Every `obmin` command answers bad input with one line on stderr and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

OBMIN = str(Path(sys.executable).with_name("obmin"))


@pytest.mark.parametrize("args", [
    ["exchange", "status", "abc", "success"],
    ["exchange", "status", "1", "bogus"],
    ["partner"],
    ["partner", "create"],
    ["apikey", "create"],
    ["rates", "import"],
    ["ledger", "nonsense"],
    ["serve", "--workers", "many"],
])
def test_usage_errors_are_one_line(args, tmp_path):
    result = subprocess.run([OBMIN, *args], capture_output=True, text=True, timeout=60,
                            env={"OBMIN_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
                            check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"obmin {args[0]}") and "error:" in lines[0]


def test_called_from_code_it_raises(db):
    with pytest.raises(CommandError, match="invalid int value"):
        call_command("exchange", "status", "abc", "success")
