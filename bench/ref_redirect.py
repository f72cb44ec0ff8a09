"""The referral redirect under load: `/ref/<code>/?cur_from=PMUSD&cur_to=BTC` against
`obmin serve`, beside `/health/live` on the same server in the same run.

    .venv/bin/python -m bench.ref_redirect [--seconds 5] [--rounds 3] [--connections 32]

Reports clicks per second and p99 for new visitors (no cookies: every click an INSERT, the
monitors' hand-off traffic) and returning ones (cookies of the same partner today), their
ratios to the trivial view, and whether every answered redirect left exactly one click:
first counted around the wrk runs (wrk drops its in-flight requests when time is up, so there
stored may exceed answered by at most the number of connections per run), then exactly, with
a client that waits for every answer. Exits non-zero if a click was lost or an error answered.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench.export import measured
from bench.harness import LoadResult, Server, load, obmin, temp_data_dir

CODE = "alice001"
PATH = f"/ref/{CODE}/?cur_from=PMUSD&cur_to=BTC"
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/120.0.0.0 Safari/537.36")
COUNT = ("from obmin.partners.models import Click; "
         "print(Click.objects.filter(partner__ref_code='alice001').count())")
PARTNER_ID = "from obmin.partners.models import Partner; " \
             "print(Partner.objects.get(ref_code='alice001').pk)"

REF_COOKIE_OF = ("from obmin.partners.attribution import REF_COOKIE, signed_cookie_value; "
                 "print(signed_cookie_value(REF_COOKIE, '{value}'))")


def stored(data_dir, env: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    return int(obmin("shell", "-c", COUNT, data_dir=data_dir, env=env).strip().splitlines()[-1])


def exact_round(url: str, *, clients: int, each: int) -> tuple[int, int]:
    """`clients` threads each send `each` clicks and wait for every answer: (302s, others)."""

    def run(_n: int) -> list[int]:
        with httpx.Client(headers={"User-Agent": CHROME}, follow_redirects=False,
                          timeout=30) as client:
            return [client.get(url).status_code for _ in range(each)]

    with ThreadPoolExecutor(clients) as pool:
        codes = [code for batch in pool.map(run, range(clients)) for code in batch]
    return codes.count(302), len(codes) - codes.count(302)


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="per run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds of the three runs (medians are reported)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default="",
                        help="an EMPTY database to use instead of SQLite (it gets the demo)")
    args = parser.parse_args()

    data_dir = temp_data_dir("ref")
    env = {"DATABASE_URL": args.database_url} if args.database_url else {}
    if not args.database_url:
        os.environ.pop("DATABASE_URL", None)
    obmin("demo", "--no-serve", data_dir=data_dir, env=env)
    partner_id = obmin("shell", "-c", PARTNER_ID, data_dir=data_dir,
                       env=env).strip().splitlines()[-1]
    # The referral cookie as the site signs it (a forged or unsigned one would count as none).
    ref_cookie = obmin("shell", "-c", REF_COOKIE_OF.format(
        value=f"{partner_id}.{int(time.time())}"), data_dir=data_dir, env=env
    ).strip().splitlines()[-1]
    returning = {"User-Agent": CHROME,
                 "Cookie": f"obmin_vid=0123456789abcdef; obmin_ref={ref_cookie}"}
    runs: dict[str, list[LoadResult]] = {"live": [], "new": [], "back": []}
    cpu: dict[str, list[float]] = {"live": [], "new": [], "back": []}
    answered = stored_clicks = 0
    with Server(data_dir=data_dir, workers=args.workers, env=env) as srv:
        pids = srv.worker_pids()
        # Warm both paths (imports, parsers, the cached partner, settings and directions).
        load(srv.url + "/health/live", connections=4, seconds=2)
        load(srv.url + PATH, connections=4, seconds=2, headers={"User-Agent": CHROME})
        # Interleaved, so that other load on the machine hits every kind of run alike.
        for _round in range(args.rounds):
            result, server_us, _client = measured(pids, srv.url + "/health/live",
                                                  connections=args.connections,
                                                  seconds=args.seconds)
            runs["live"].append(result)
            cpu["live"].append(server_us)
            for kind, headers in (("new", {"User-Agent": CHROME}), ("back", returning)):
                before = stored(data_dir, env)
                result, server_us, _client = measured(pids, srv.url + PATH,
                                                      connections=args.connections,
                                                      seconds=args.seconds, headers=headers)
                time.sleep(1)  # let the requests wrk abandoned at the end finish
                runs[kind].append(result)
                cpu[kind].append(server_us)
                answered += result.requests - result.non_2xx_3xx
                stored_clicks += stored(data_dir, env) - before
        before = stored(data_dir, env)
        redirects, others = exact_round(srv.url + PATH, clients=16, each=100)
        exact = stored(data_dir, env) - before

    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"obmin serve, {args.workers} workers, {database}, {args.connections} connections, "
          f"{args.rounds} interleaved rounds of {args.seconds} s; medians")
    live_rps = median([r.rps for r in runs["live"]])
    live_p99 = median([r.p99_ms for r in runs["live"]])
    live_cpu = median(cpu["live"])
    labels = {"live": "/health/live", "new": "/ref/ new visitor",
              "back": "/ref/ returning visitor"}
    for kind, label in labels.items():
        rps, p99 = median([r.rps for r in runs[kind]]), median([r.p99_ms for r in runs[kind]])
        line = (f"{label:<26} {rps:>7.0f} req/s  p99 {p99:7.2f} ms  "
                f"server CPU {median(cpu[kind]):5.0f} us/request")
        if kind != "live":
            line += (f"\n{'':<26} cost x{live_rps / rps:.2f} of /health/live in req/s "
                     f"(per round x" + ", x".join(f"{live.rps / r.rps:.2f}" for live, r
                                                  in zip(runs["live"], runs[kind], strict=True))
                     + f"), x{median(cpu[kind]) / live_cpu:.2f} in server CPU, "
                     f"p99 x{p99 / live_p99:.2f}")
        print(line)
    if args.database_url:
        print("(server CPU leaves out PostgreSQL's own work; SQLite's is inside the server)")
    errors = sum(r.errors + r.non_2xx_3xx for rs in runs.values() for r in rs)
    in_flight = stored_clicks - answered
    wrk_ok = 0 <= in_flight <= args.connections * 2 * args.rounds and not errors
    print(f"wrk runs: redirects answered {answered}, clicks stored {stored_clicks} "
          f"(+{in_flight} in flight when wrk stopped), errors {errors}"
          f"{'' if wrk_ok else '  LOST OR FAILED'}")
    equal = exact == redirects and not others
    print(f"exact round: redirects answered {redirects}, clicks stored {exact}, "
          f"other answers {others}: {'equal' if equal else 'NOT EQUAL'}")
    return 0 if wrk_ok and equal else 1


if __name__ == "__main__":
    raise SystemExit(main())
