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

LISTS = {
    "get_exchanges": "exchanges of visitors you referred",
    "get_links": "clicks on your referral links",
    "get_payouts": "your payouts and what became of them",
}
# CSV columns of each list, in the API documentation's order (the status history, a list, is
# left out). Fields a newer server adds come after them; an empty period still has this header.
CSV_COLUMNS = {
    "get_exchanges": ("id", "time", "date", "course_give", "course_get", "amount_give",
                      "amount_get", "exchange_success", "accrued", "partner_reward", "user_hash",
                      "currency_code_give", "currency_code_get", "status"),
    "get_links": ("id", "time", "date", "browser", "ip", "referrer", "user_hash",
                  "query_string"),
    "get_payouts": ("id", "time", "date", "method_id", "account", "pay_amount",
                    "pay_currency_code", "original_amount", "original_currency_code", "status"),
}
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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


def csv_cell(value: Any) -> Any:
    """A text that a spreadsheet would take for a formula gets a leading `'` (shown as text).

    Referers, query strings and visitor ids come from strangers: `=HYPERLINK(...)` must reach
    the partner's spreadsheet as text. Numbers are written as they are.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(method: str, rows: list[dict[str, Any]]) -> None:
    known = CSV_COLUMNS[method]
    extra = sorted({k for row in rows for k, v in row.items()
                    if k not in known and not isinstance(v, list)})
    writer = csv.writer(sys.stdout)
    columns = [*known, *extra]
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(name, "")) for name in columns])


def main(argv: list[str] | None = None) -> int:
    """Runs the command; output cut short by its reader (`| head`) ends it quietly."""
    try:
        code = run(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader left (`obmin-partner ... | head`): no traceback, and no second error when
        # Python flushes stdout at exit. 141 is what a shell reports for SIGPIPE.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return code


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Wide enough that every command's name and its summary share one line."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)
        # argparse sizes the column by the options and forgets the commands' extra indent.
        self._action_max_length = 24


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="obmin-partner", description=__doc__,
                                     formatter_class=_HelpFormatter)
    parser.add_argument("--url", default=os.environ.get("OBMIN_URL"),
                        help="the exchanger's address (or OBMIN_URL)")
    parser.add_argument("--key", default=os.environ.get("OBMIN_API_KEY"),
                        help="your API key (or OBMIN_API_KEY)")
    sub = parser.add_subparsers(dest="method", required=True, title="commands",
                                metavar="COMMAND")
    sub.add_parser("get_info", help="your balance, link and payout methods")
    for name, summary in LISTS.items():
        cmd = sub.add_parser(name, help=summary)
        cmd.add_argument("--start", type=unix_time, help="from (unix or UTC date)")
        cmd.add_argument("--end", type=unix_time, help="to, inclusive (unix or UTC date)")
        cmd.add_argument("--csv", action="store_true",
                         help="CSV rows (with a header row) instead of JSON")
        if name == "get_links":
            cmd.add_argument("--ip", help="only clicks from this address")
    payout = sub.add_parser("add_payout", help="ask for a payout of the whole balance")
    payout.add_argument("method_id", type=int, help="a payout method's id (see get_info)")
    payout.add_argument("account", help="your account, wallet or card for it")
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
        write_csv(args.method, list(result.values()))
    else:
        print(to_json(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
