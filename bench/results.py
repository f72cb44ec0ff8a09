"""bench/RESULTS.md: each benchmark command replaces its own section and leaves the others."""

from __future__ import annotations

import re
from pathlib import Path

HEADER = ("# Benchmark results\n\n"
          "Written by `scripts/bench` (`bench.all`) and `bench.compare`; each replaces its own "
          "section. Every figure is beside its baseline (`/health/live` on the same server, "
          "measured in the same run, interleaved), because the 2-core machine is shared.\n")


def replace_section(path: Path, title: str, body: str) -> None:
    """Replaces the `## title` section of `path` (or appends it) with `body`."""
    text = path.read_text() if path.exists() else HEADER
    section = f"## {title}\n\n{body.rstrip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text)
