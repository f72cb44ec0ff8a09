"""Issue 14's API check counted in CPU instructions, which other load on a shared machine does
not move (requests/s on it swing by a fifth from one run to the next).

    .venv/bin/python -m bench.instructions [--old 474a001] [--new HEAD] [--also 87ad73c ...]
        [--clicks 1000000] [--exchanges 100000] [--results bench/RESULTS.md]

Each commit gets its worktree and virtualenv (as `bench.compare` makes them) and its own
generated year (`bench.partner_api.build`: the same seeded history for every commit). Its
api.php then answers `get_links` and `get_exchanges` for the year's first 10 and first 20 days,
called through its own `obmin.wsgi` application in one process under valgrind's callgrind
(`valgrind` must be installed). The difference of the two runs, over the items of days 11 to 20,
is what one item costs that commit: start-up and per-request work cancel out. Lower is better.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.compare import clean_env, git, prepare
from bench.harness import ROOT
from bench.partner_api import RATE, YEAR
from bench.results import replace_section

METHODS = ("get_links", "get_exchanges")
DAYS = (10, 20)

# Runs in the commit's own virtualenv: the api.php answer for one window, items counted.
ANSWER = """
import io, sys
from obmin.wsgi import application
key, method, start, end = sys.argv[1:5]
environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/service/partner/api.php",
           "QUERY_STRING": f"api_action=pp&api_key={key}&method={method}"
                           f"&start_time={start}&end_time={end}",
           "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1",
           "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
           "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr}
statuses = []
answer = application(environ, lambda status, headers, exc_info=None: statuses.append(status))
items = size = 0
tail = b""
for chunk in answer:
    data = tail + chunk
    items += data.count(b':{"id":')
    size += len(chunk)
    tail = data[-6:]
getattr(answer, "close", lambda: None)()
assert statuses and statuses[0].startswith("200"), statuses
print(items, size)
"""


@dataclass
class Measured:
    instructions: int
    items: int
    size: int


def build(tree: Path, data_dir: Path, clicks: int, exchanges: int) -> str:
    """The commit's own generated year in `data_dir` (made once); a live API key for it."""
    script = ("import sys; from pathlib import Path; from bench.partner_api import build; "
              f"print(build(Path({str(data_dir)!r}), {clicks}, {exchanges}))")
    out = subprocess.run([str(tree / ".venv" / "bin" / "python"), "-c", script], cwd=tree,
                         env=clean_env({}), capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[-1]


def measure(tree: Path, data_dir: Path, key: str, method: str, days: int) -> Measured:
    start = YEAR[0]
    env = clean_env({"OBMIN_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "obmin.settings",
                     "ACCESS_LOG": "0", "PARTNER_API_RATE": RATE,
                     "PARTNER_API_BAD_KEY_RATE": RATE})
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         str(tree / ".venv" / "bin" / "python"), "-c", ANSWER, key, method, str(start),
         str(start + days * 86_400 - 1)],
        cwd=tree, env=env, capture_output=True, text=True, check=False)
    collected = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode or collected is None:
        raise SystemExit(f"{tree.name} {method} {days} days failed:\n{result.stderr[-2000:]}")
    items, size = (int(n) for n in result.stdout.split()[-2:])
    return Measured(int(collected.group(1)), items, size)


def per_item(runs: dict[int, Measured]) -> tuple[float, float, int]:
    """Instructions and bytes per item over the second window's extra days, and their items."""
    short, long = runs[DAYS[0]], runs[DAYS[1]]
    items = long.items - short.items
    return ((long.instructions - short.instructions) / items, (long.size - short.size) / items,
            items)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", default="474a001")
    parser.add_argument("--new", default="HEAD")
    parser.add_argument("--also", nargs="*", default=[], help="more commits, between old and new")
    parser.add_argument("--clicks", type=int, default=1_000_000)
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    started = time.monotonic()
    commits = [git("rev-parse", "--short=7", c) for c in (args.old, *args.also, args.new)]
    trees = {sha: prepare(sha) for sha in commits}
    keys = {}
    for sha in commits:
        data_dir = Path(f"/tmp/obmin-bench-instructions-{sha}-{args.clicks}")
        data_dir.mkdir(exist_ok=True)
        keys[sha] = (data_dir, build(trees[sha], data_dir, args.clicks, args.exchanges))
        print(f"  {sha}: data in {data_dir}", flush=True)
    jobs = [(sha, method, days) for sha in commits for method in METHODS for days in DAYS]
    # Instruction counts do not depend on what else runs: both cores at once.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        done = pool.map(lambda job: measure(trees[job[0]], *keys[job[0]], job[1], job[2]),
                        jobs)
        results: dict[tuple[str, str], dict[int, Measured]] = {}
        for (sha, method, days), measured in zip(jobs, done, strict=True):
            results.setdefault((sha, method), {})[days] = measured
    old = commits[0]
    head = ("| method | " + " | ".join(f"{sha} instructions / item (bytes)" for sha in commits)
            + " | " + " | ".join(f"{sha} / {old}" for sha in commits[1:]) + " |\n"
            + "|---|" + "---|" * (2 * len(commits) - 1) + "\n")
    rows = []
    for method in METHODS:
        figures = {sha: per_item(results[(sha, method)]) for sha in commits}
        cells = [f"{figures[sha][0]:,.0f} ({figures[sha][1]:.0f} B)" for sha in commits]
        ratios = [f"{figures[sha][0] / figures[old][0]:.3f}" for sha in commits[1:]]
        rows.append(f"| {method} | " + " | ".join(cells + ratios) + " |")
        print(rows[-1], flush=True)
    items = {method: per_item(results[(old, method)])[2] for method in METHODS}
    note = (f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
            f"{time.monotonic() - started:.0f} s (`.venv/bin/python -m bench.instructions"
            f"{''.join(' --also ' + a for a in args.also)}`). SQLite, one process, each "
            f"commit's own api.php through its `obmin.wsgi`, under callgrind; a generated year "
            f"of {args.clicks:,} clicks and {args.exchanges:,} exchanges; per item over days "
            f"11 to 20 ({items['get_links']:,} clicks, {items['get_exchanges']:,} exchanges). "
            f"Lower is better; the ratio columns are each commit over {old}.\n\n")
    text = head + "\n".join(rows) + "\n"
    print(text)
    replace_section(args.results, "Refactor check (issue 14) — instructions per item",
                    note + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
