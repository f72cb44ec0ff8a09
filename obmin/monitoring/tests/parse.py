"""Reading the export as a monitor would: each format parsed into comparable items."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET


def export(client, fmt: str, code: str, **headers):
    return client.get(f"/service/export/{fmt}/{code}", **headers)


def xml_items(content: bytes) -> dict[tuple[str, str, str], dict[str, str]]:
    """(from, to, city) -> {element: text} for every <item>."""
    root = ET.fromstring(content)
    assert root.tag == "rates"
    items = {}
    for item in root.findall("item"):
        fields = {child.tag: child.text or "" for child in item}
        items[(fields["from"], fields["to"], fields.get("city", ""))] = fields
    return items


def json_items(content: bytes) -> dict[tuple[str, str, str], dict[str, str]]:
    data = json.loads(content)
    return {(item["from"], item["to"], item.get("city", "")): item for item in data["rates"]}


def txt_items(content: bytes) -> dict[tuple[str, str, str], list[str]]:
    items = {}
    for line in content.decode().splitlines():
        cells = line.split(";")
        assert len(cells) == 7 and cells[6] == "", line
        items[(cells[0], cells[1], cells[5])] = cells[:6]
    return items
