"""`obmin-partner`: the partner API from the shell, as JSON or CSV for accounting.

    export OBMIN_URL=https://exchanger.example OBMIN_API_KEY=obm_live_...
    obmin-partner get_info
    obmin-partner get_exchanges --start 2026-11-01 --end 2026-11-30 --csv > november.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from obmin_client.client import ObminAPIError, PartnerClient

LISTS = ("get_exchanges", "get_links", "get_payouts")


def unix_time(text: str) -> int:
    """Unix seconds, or a UTC date `YYYY-MM-DD` / `YYYY-MM-DD HH:MM:SS`."""
    if text.isdigit():
        return int(text)
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return int(datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp())
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"not a unix time or UTC date: {text!r}")


def to_json(value: Any, indent: str = "") -> str:
    """JSON text with Decimals written digit for digit (never through a float)."""
    inner = indent + "  "
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        if not value:
            return "{}"
        parts = [f"{inner}{json.dumps(str(k))}: {to_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(parts) + "\n" + indent + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + to_json(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value, ensure_ascii=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="obmin-partner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("OBMIN_URL"),
                        help="the exchanger's address (or OBMIN_URL)")
    parser.add_argument("--key", default=os.environ.get("OBMIN_API_KEY"),
                        help="your API key (or OBMIN_API_KEY)")
    sub = parser.add_subparsers(dest="method", required=True)
    sub.add_parser("get_info", help="balance, link, payout methods")
    for name in LISTS:
        cmd = sub.add_parser(name)
        cmd.add_argument("--start", type=unix_time, help="from (unix or UTC date)")
        cmd.add_argument("--end", type=unix_time, help="to, inclusive (unix or UTC date)")
        cmd.add_argument("--csv", action="store_true", help="CSV rows instead of JSON")
        if name == "get_links":
            cmd.add_argument("--ip")
    payout = sub.add_parser("add_payout", help="ask for a payout of the whole balance")
    payout.add_argument("method_id", type=int)
    payout.add_argument("account")
    args = parser.parse_args(argv)
    if not args.url or not args.key:
        parser.error("--url and --key (or OBMIN_URL and OBMIN_API_KEY) are required")

    with PartnerClient(args.url, args.key) as client:
        try:
            if args.method == "get_info":
                result: Any = client.get_info()
            elif args.method == "add_payout":
                result = {"payout_id": client.add_payout(args.method_id, args.account)}
            else:
                options = {"start_time": args.start, "end_time": args.end}
                if args.method == "get_links" and args.ip:
                    options["ip"] = args.ip
                result = client.call(args.method, **options)["items"]
        except ObminAPIError as error:
            print(f"obmin-partner: {error}", file=sys.stderr)
            return 1
    if getattr(args, "csv", False):
        rows = list(result.values())
        columns = sorted({k for row in rows for k, v in row.items() if not isinstance(v, list)})
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    else:
        print(to_json(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
