"""The export's wire formats: BestChange XML, its JSON twin and the TXT lines.

Pure functions from entries to bytes, no database: the cached snapshot calls them once per build.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

from obmin.lib.money import plain, significant

FORMATS = ("xml", "json", "txt")
CONTENT_TYPES = {
    "xml": "application/xml; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
}
# Enough significant digits that monitors compare rates exactly as the exchanger set them.
RATE_DIGITS = 10

MAINTENANCE = {
    "xml": b'<?xml version="1.0" encoding="UTF-8"?>\n<error>Maintenance</error>\n',
    "json": b'["error","Maintenance"]',
    "txt": b"Maintenance",
}


@dataclass(frozen=True)
class ExportEntry:
    """One `<item>`: every value already written as the wire wants it; empty means absent."""

    from_code: str
    to_code: str
    rate_in: str
    rate_out: str
    amount: str
    minamount: str
    maxamount: str
    fromfee: str = ""
    tofee: str = ""
    city: str = ""
    param: str = ""


def normalize_rate(rate_give: Decimal, rate_get: Decimal) -> tuple[str, str]:
    """`in`, `out` for rate_give:rate_get with one side exactly "1" and the other never 0.

    The larger side is divided by the smaller, so the written side is >= 1 and rounding to
    significant digits can never reach 0 (nor need an exponent).
    """
    if rate_give <= 0 or rate_get <= 0:
        raise ValueError("a rate must be positive")
    if rate_give >= rate_get:
        return plain(significant(rate_give / rate_get, RATE_DIGITS)), "1"
    return "1", plain(significant(rate_get / rate_give, RATE_DIGITS))


def amount_with_code(amount: Decimal, code: str) -> str:
    """`10 PMUSD`: how BestChange writes limits and fixed fees."""
    return f"{plain(amount)} {code}"


def percent(value: Decimal) -> str:
    """`1 %`: how BestChange writes a percent fee."""
    return f"{plain(value)} %"


# The optional XML elements, after the required ones, in BestChange's order.
OPTIONAL = ("fromfee", "tofee", "city", "param")


def render_xml(entries: list[ExportEntry]) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<rates>\n']
    for e in entries:
        parts.append(
            f"<item><from>{escape(e.from_code)}</from><to>{escape(e.to_code)}</to>"
            f"<in>{e.rate_in}</in><out>{e.rate_out}</out><amount>{e.amount}</amount>"
            f"<minamount>{escape(e.minamount)}</minamount>"
            f"<maxamount>{escape(e.maxamount)}</maxamount>")
        for tag in OPTIONAL:
            value = getattr(e, tag)
            if value:
                parts.append(f"<{tag}>{escape(value)}</{tag}>")
        parts.append("</item>\n")
    parts.append("</rates>\n")
    return "".join(parts).encode()


def entry_json(entry: ExportEntry) -> dict[str, str]:
    """The JSON item: the XML element names as keys; optional ones only when present."""
    data = asdict(entry)
    item = {"from": data.pop("from_code"), "to": data.pop("to_code"),
            "in": data.pop("rate_in"), "out": data.pop("rate_out")}
    item.update((key, value) for key, value in data.items() if value)
    return item


def render_json(entries: list[ExportEntry]) -> bytes:
    return json.dumps({"rates": [entry_json(e) for e in entries]},
                      ensure_ascii=False, separators=(",", ":")).encode()


def render_txt(entries: list[ExportEntry]) -> bytes:
    lines = [f"{e.from_code};{e.to_code};{e.rate_in};{e.rate_out};{e.amount};{e.city};\n"
             for e in entries]
    return "".join(lines).encode()


RENDERERS = {"xml": render_xml, "json": render_json, "txt": render_txt}
