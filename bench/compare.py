"""Issue 14's refactor check: an old commit's and the current commit's own benchmarks, run
alternately on this machine in one sitting, each reported as a ratio to `/health/live`.

    .venv/bin/python -m bench.compare [--old 474a001] [--new HEAD] [--rounds 2]
        [--clicks 200000 --exchanges 20000] [--no-access-log-variant] [--results bench/RESULTS.md]

Each commit gets a git worktree and a virtualenv of its own under /tmp (kept between runs, so a
second run starts at once), and runs its own `bench.export`, `bench.ref_redirect` and
`bench.partner_api` on SQLite without REDIS_URL, as they were written. The variants run
old, new, new with ACCESS_LOG=0, old, new, ... so that other load on the shared machine hits
them alike; the table shows the median of the rounds. New `obmin serve` writes one access line
per request (to /dev/null here); the ACCESS_LOG=0 variant separates the refactor's cost from
the log's.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import ROOT
from bench.results import replace_section

# Sizes for each commit's own benchmark (short runs: three variants, two rounds, ~12 min).
BENCH_ARGS = {
    "export": ["--rounds", "3", "--seconds", "3"],
    "ref_redirect": ["--rounds", "2", "--seconds", "3"],
    "partner_api": ["--seconds", "4"],
}


@dataclass
class Variant:
    label: str
    commit: str
    tree: Path
    env: dict[str, str] = field(default_factory=dict)
    runs: dict[str, list[dict[str, float]]] = field(default_factory=dict)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


def prepare(commit: str) -> Path:
    """A worktree of `commit` at /tmp/obench-<sha>, with its own .venv (made once)."""
    sha = git("rev-parse", "--short=7", commit)
    tree = Path(f"/tmp/obench-{sha}")
    if not (tree / "pyproject.toml").exists():
        git("worktree", "add", "--detach", str(tree), sha)
    python = tree / ".venv" / "bin" / "python"
    if not (tree / ".venv" / "bin" / "obmin").exists():
        subprocess.run(["python3", "-m", "venv", str(tree / ".venv")], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", f"{tree}[dev]"],
                       check=True)
    return tree


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """SQLite, file cache: as these benchmarks ran before the worker existed."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "OBMIN_DATA_DIR", "ACCESS_LOG",
                        "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE"}}
    env.update(extra)
    return env


def _num(pattern: str, text: str) -> float | None:
    match = re.search(pattern, text)
    return float(match.group(1).replace(",", "")) if match else None


def parse(name: str, out: str) -> dict[str, float]:
    """The figures each benchmark prints, as ratios to /health/live where it gives them."""
    figures: dict[str, float | None] = {}
    if name == "export":
        figures["export xml req/s ratio"] = _num(
            r"export / live, median of rounds: throughput ([\d.]+)", out)
        figures["export xml p99 ratio (best round)"] = _num(
            r"export / live p99:\s+([\d.]+)", out)
        live_cpu = _num(r"server CPU per request:\s+live (\d+) us", out)
        export_cpu = _num(r"server CPU per request:.*export (\d+) us", out)
        if live_cpu and export_cpu:
            figures["export server CPU/request ratio"] = export_cpu / live_cpu
    elif name == "ref_redirect":
        for kind, label in (("new", "/ref/ new visitor"), ("back", "/ref/ returning visitor")):
            block = re.search(re.escape(label) + r".*?\n\s+cost x([\d.]+) of /health/live in "
                              r"req/s.*?x([\d.]+) in server CPU, p99 x([\d.]+)", out, re.S)
            if block:
                figures[f"/ref/ {kind} req/s ratio"] = 1 / float(block.group(1))
                figures[f"/ref/ {kind} p99 ratio"] = float(block.group(3))
        figures["/ref/ clicks equal (1=yes)"] = 1.0 if "equal" in out and "NOT EQUAL" not in out \
            and "LOST" not in out else 0.0
    elif name == "partner_api":
        for method in ("get_links", "get_exchanges"):
            cost = _num(method + r" one day.*\n\s+x([\d.]+) the cost", out)
            figures[f"{method} one day req/s ratio"] = 1 / cost if cost else None
            p50 = _num(r"\n\s+" + method + r"\s+[\d.]+ ms\s+\d+ items\s+\(x([\d.]+)", out)
            figures[f"{method} one day p50 ratio (1 client)"] = p50
        figures["get_links year items/s"] = _num(r"get_links whole year:.*= ([\d,]+) items/s",
                                                 out)
        figures["get_exchanges year items/s"] = _num(
            r"get_exchanges whole year:.*= ([\d,]+) items/s", out)
    return {k: v for k, v in figures.items() if v is not None}


def run_one(variant: Variant, name: str, args: argparse.Namespace, data: dict[str, Path]) -> str:
    cmd = [str(variant.tree / ".venv" / "bin" / "python"), "-m", f"bench.{name}",
           *BENCH_ARGS[name]]
    if name == "partner_api":
        # Built once per commit (its own schema) and reused by the later rounds.
        key = variant.commit
        data.setdefault(key, Path(f"/tmp/obmin-bench-api-{key}-{args.clicks}"))
        cmd += ["--clicks", str(args.clicks), "--exchanges", str(args.exchanges),
                "--data-dir", str(data[key])]
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=variant.tree, env=clean_env(variant.env),
                            capture_output=True, text=True, check=False)
    log = ROOT / "bench" / "logs"
    log.mkdir(exist_ok=True)
    (log / f"compare-{name}-{variant.label.replace(' ', '_').replace('=', '')}.txt").open(
        "a").write(f"--- rc {result.returncode}, {time.monotonic() - started:.0f} s\n"
                   f"{result.stdout}\n{result.stderr[-3000:]}\n")
    print(f"  {variant.label:<22} bench.{name:<13} {time.monotonic() - started:4.0f} s  "
          f"rc {result.returncode}", flush=True)
    return result.stdout


def table(variants: list[Variant]) -> str:
    names = list(BENCH_ARGS)
    head = "| benchmark | figure | " + " | ".join(v.label for v in variants)
    head += " | new / old |\n|---|---|" + "---|" * (len(variants) + 1) + "\n"
    rows = []
    for name in names:
        keys: list[str] = []
        for v in variants:
            for run in v.runs.get(name, []):
                keys += [k for k in run if k not in keys]
        for key in keys:
            cells, medians = [], []
            for v in variants:
                values = [run[key] for run in v.runs.get(name, []) if key in run]
                med = statistics.median(values) if values else None
                medians.append(med)
                big = med is not None and med >= 1000
                cells.append("–" if med is None else (
                    f"{med:,.0f}" if big else f"{med:.2f}") + (
                    f" ({', '.join(f'{x:,.0f}' if big else f'{x:.2f}' for x in values)})"
                    if len(values) > 1 else ""))
            change = (f"{medians[1] / medians[0]:.2f}" if len(medians) > 1 and medians[0]
                      and medians[1] is not None else "–")
            rows.append(f"| {name} | {key} | " + " | ".join(cells) + f" | {change} |")
    return head + "\n".join(rows) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", default="474a001")
    parser.add_argument("--new", default="HEAD")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clicks", type=int, default=200_000)
    parser.add_argument("--exchanges", type=int, default=20_000)
    parser.add_argument("--only", nargs="*", default=list(BENCH_ARGS), choices=list(BENCH_ARGS))
    parser.add_argument("--no-access-log-variant", action="store_true",
                        help="skip the third variant (new with ACCESS_LOG=0)")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()

    old_sha, new_sha = (git("rev-parse", "--short=7", c) for c in (args.old, args.new))
    old_tree, new_tree = prepare(args.old), prepare(args.new)
    variants = [Variant(f"old {old_sha}", old_sha, old_tree),
                Variant(f"new {new_sha}", new_sha, new_tree)]
    if not args.no_access_log_variant:
        variants.append(Variant(f"new {new_sha} ACCESS_LOG=0", new_sha, new_tree,
                                {"ACCESS_LOG": "0"}))
    data: dict[str, Path] = {}
    started = time.monotonic()
    for round_no in range(args.rounds):
        print(f"round {round_no + 1} of {args.rounds}", flush=True)
        for name in args.only:
            for variant in variants:
                out = run_one(variant, name, args, data)
                variant.runs.setdefault(name, []).append(parse(name, out))
    text = table(variants)
    print(text)
    note = (f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {args.rounds} rounds "
            f"alternating {'/'.join(v.label for v in variants)}, "
            f"{time.monotonic() - started:.0f} s; "
            f"SQLite, no Redis; partner_api with {args.clicks:,} clicks and "
            f"{args.exchanges:,} exchanges. Cells: median (each round). Ratios are the "
            f"endpoint over /health/live of the same server in the same run: req/s ratios "
            f"higher is better, p99 and CPU ratios lower is better. The last column is new over "
            f"old (for req/s ratios and items/s, below 1 means new is slower). Raw outputs: "
            f"bench/logs/compare-*.txt (not committed).\n\n")
    replace_section(args.results, "Refactor check (issue 14) — measured", note + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
