"""The README's production settings pass `obmin check --deploy` and Django's own, warning-free.

The `export` lines are read from the README's Production block and run by bash as an operator
would paste them, so the documentation and the checks cannot drift apart.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def production_exports() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Production\n\n```sh\n(.*?)```", readme, re.S)
    assert block, "README has no Production block"
    lines = [line for line in block.group(1).splitlines() if line.startswith("export ")]
    assert any("SECRET_KEY" in line for line in lines)
    return lines


def run_checks(tmp_path: Path, *extra_exports: str) -> subprocess.CompletedProcess[str]:
    script = "\n".join([
        "set -e", *production_exports(), *extra_exports,
        f"'{BIN / 'obmin'}' check --deploy --fail-level WARNING",
        f"'{BIN / 'django-admin'}' check --deploy --fail-level WARNING "
        "--settings obmin.settings",
    ])
    # Only what the operator's shell would have: none of this machine's (or CI's) settings.
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "OBMIN_DATA_DIR": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                          timeout=180)


def test_documented_production_settings_pass_both_deploy_checks(tmp_path: Path) -> None:
    result = run_checks(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("System check identified no issues") == 2


def test_report_only_csp_is_flagged(tmp_path: Path) -> None:
    result = run_checks(tmp_path, "export CSP_REPORT_ONLY=1")
    assert result.returncode != 0
    assert "obmin.W004" in result.stderr


def test_the_demo_settings_are_flagged(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "OBMIN_DATA_DIR": str(tmp_path)}
    result = subprocess.run([str(BIN / "obmin"), "check", "--deploy"], env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode != 0
    for problem in ("obmin.E001", "security.W004", "security.W008", "security.W012"):
        assert problem in result.stderr


def test_a_missing_metrics_token_is_flagged(tmp_path: Path) -> None:
    result = run_checks(tmp_path, "unset METRICS_TOKEN")
    assert result.returncode != 0
    assert "obmin.W010" in result.stderr and "METRICS_TOKEN" in result.stderr


def test_the_systemd_environment_file_passes_both_deploy_checks(tmp_path: Path) -> None:
    """deploy/systemd/obmin.env.example, its placeholders filled in as the operator would
    (the units read it as an EnvironmentFile), is as complete as the README's lines: with it
    alone nothing is left to warn about (e-mail that is really sent among it)."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "OBMIN_DATA_DIR": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    for line in (ROOT / "deploy/systemd/obmin.env.example").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, value = line.partition("=")
        value = value.strip()
        if len(value) > 1 and value[0] == value[-1] == '"':  # systemd drops the quotes
            value = value[1:-1]
        if value.startswith("change-me"):
            value = secrets.token_urlsafe(50)
        env[name.strip()] = value
    for command in ([str(BIN / "obmin"), "check"],
                    [str(BIN / "django-admin"), "check", "--settings", "obmin.settings"]):
        result = subprocess.run([*command, "--deploy", "--fail-level", "WARNING"], env=env,
                                capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, result.stdout + result.stderr
