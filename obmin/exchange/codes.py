"""The monitoring currency codes BestChange-style monitors know (270 codes with names)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

CODES_FILE = Path(__file__).resolve().parent / "data" / "monitoring-currency-codes.tsv"


@cache
def monitoring_codes() -> dict[str, str]:
    lines = CODES_FILE.read_text(encoding="utf-8").splitlines()[1:]
    return dict(line.split("\t", 1) for line in lines if "\t" in line)
