"""The lock files cover what pyproject asks for, every line hashed; the audit gate judges right.

scripts/dev-install installs requirements/lock-dev.txt with --require-hashes (then the two
projects with --no-deps), so a dependency added to a pyproject.toml without `scripts/lock`
would be missing; these tests say so first.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LOCK = ROOT / "requirements" / "lock.txt"
DEV_LOCK = ROOT / "requirements" / "lock-dev.txt"


def locked(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) for each requirement of a lock file."""
    entries: dict[str, tuple[str, int]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", path.read_text()):
        head = re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)", block)
        if head:
            entries[canonical(head.group(1))] = (head.group(2), block.count("--hash=sha256:"))
    return entries


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: list[str]) -> dict[str, str]:
    found = {}
    for requirement in requirements:
        match = re.match(r"([A-Za-z0-9._-]+)(\[[^]]*\])?==(\S+)", requirement)
        assert match, f"not pinned exactly: {requirement}"
        found[canonical(match.group(1))] = match.group(3)
    return found


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_every_locked_package_has_hashes() -> None:
    for path in (LOCK, DEV_LOCK):
        entries = locked(path)
        assert len(entries) > 30
        assert {name for name, (_, hashes) in entries.items() if hashes == 0} == set(), path


def test_the_locks_hold_every_dependency_at_its_pinned_version() -> None:
    runtime, dev = locked(LOCK), locked(DEV_LOCK)
    for name, version in pins(project()["dependencies"]).items():
        assert runtime.get(name, ("missing",))[0] == version, (name, "run scripts/lock")
        assert dev.get(name, ("missing",))[0] == version, (name, "run scripts/lock")
    for name, version in pins(project()["optional-dependencies"]["dev"]).items():
        assert dev.get(name, ("missing",))[0] == version, (name, "run scripts/lock")
    # The server's lock holds no test tool; the build tools are in both.
    assert "pytest" not in runtime and {"setuptools", "wheel"} <= set(runtime)
    # Where both name a package, it is the same version.
    assert {n: v for n, (v, _) in runtime.items() if dev[n][0] != v} == {}


def test_the_partner_client_needs_only_its_http_client() -> None:
    client = tomllib.loads((ROOT / "client" / "pyproject.toml").read_text())["project"]
    assert [re.split(r"[<>=\[ ]", d)[0] for d in client["dependencies"]] == ["httpx"]
    assert locked(LOCK)["httpx"][0] == pins(project()["dependencies"])["httpx"]


# --- the audit gate (scripts/audit) ----------------------------------------------------------


def audit(tmp_path: Path, report: dict, strict: bool = False) -> subprocess.CompletedProcess:
    saved = tmp_path / "report.json"
    saved.write_text(json.dumps(report))
    env = {**os.environ, "OBMIN_AUDIT_STRICT": "1" if strict else ""}
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "audit"), "--from-json",
                           str(saved)], capture_output=True, text=True, env=env, timeout=60)


CLEAN = {"name": "django", "version": "5.2.19", "vulns": []}
SKIPPED = {"name": "granian",
           "skip_reason": "Dependency not found on PyPI and could not be audited: granian (2.8.7)"}


def test_a_known_vulnerability_fails_the_audit(tmp_path: Path) -> None:
    bad = {"name": "urllib3", "version": "1.26.0",
           "vulns": [{"id": "GHSA-v845-jxx5-vc9f", "fix_versions": ["1.26.17", "2.0.6"]}]}
    result = audit(tmp_path, {"dependencies": [CLEAN, bad]})
    assert result.returncode == 1
    assert "VULNERABLE urllib3 1.26.0: GHSA-v845-jxx5-vc9f (fixed in 1.26.17, 2.0.6)" in (
        result.stderr)


def test_unchecked_packages_are_named_and_strict_mode_fails_on_them(tmp_path: Path) -> None:
    report = {"dependencies": [CLEAN, SKIPPED]}
    lenient = audit(tmp_path, report)
    assert lenient.returncode == 0
    assert "1 of 2 locked packages were NOT checked" in lenient.stderr
    assert "granian" in lenient.stderr
    assert audit(tmp_path, report, strict=True).returncode == 1


@pytest.mark.parametrize("strict", [False, True])
def test_a_clean_report_passes(tmp_path: Path, strict: bool) -> None:
    result = audit(tmp_path, {"dependencies": [CLEAN]}, strict=strict)
    assert result.returncode == 0
    assert "no known vulnerability in 1 checked package" in result.stdout
