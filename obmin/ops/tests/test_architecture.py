"""The layer contract (pyproject `[tool.importlinter]`) catches a wrong arrow.

`lint-imports` runs in the test command over the real tree; here it runs over a copy of the
tree twice, as it is and with one module that imports upwards, so a contract that could never
fail (a typo in a layer's name, an ignore that swallows everything) fails this test instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(),
                                reason="import-linter is not installed (pip install -e .[dev])")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", "pyproject.toml"],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "locale", "static", "templates")
    for package in ("obmin", "client/obmin_client"):
        shutil.copytree(ROOT / package, tmp_path / Path(package).name, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


@pytest.mark.parametrize(("module", "wrong_import", "broken"), [
    # The exchanger must not reach up into the partner program...
    ("obmin/exchange/wrong_arrow.py", "from obmin.partners import attribution",
     "obmin.exchange is not allowed to import obmin.partners"),
    # ...nor lib into any room, even lazily inside a function.
    ("obmin/lib/wrong_arrow.py", "def f():\n    import obmin.rewards.services",
     "obmin.lib is not allowed to import obmin.rewards"),
    # The two rooms of one layer are independent.
    ("obmin/partner_api/wrong_arrow.py", "import obmin.monitoring.snapshot",
     "obmin.partner_api is not allowed to import obmin.monitoring"),
    # The partner client never imports the server.
    ("obmin_client/wrong_arrow.py", "import obmin.exchange.models",
     "The partner client is its own package"),
])
def test_a_wrong_arrow_breaks_the_contract(tree: Path, module: str, wrong_import: str,
                                          broken: str) -> None:
    clean = lint_imports(tree)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    (tree / module).write_text(wrong_import + "\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in result.stdout
