"""The referral redirect under load: `/ref/<code>/?cur_from=PMUSD&cur_to=BTC` against
`obmin serve`, beside `/health/live` on the same server in the same run.

    .venv/bin/python -m bench.ref_redirect [--seconds 10] [--connections 32] [--workers 2]

Reports clicks per second and p99 for new visitors (no cookies: every click an INSERT, the
monitors' hand-off traffic) and returning ones (cookies of the same partner today), their
ratios to the trivial view, and whether every answered redirect left exactly one click:
first counted around the wrk runs (wrk drops its in-flight requests when time is up, so there
stored may exceed answered by at most the number of connections), then exactly, with a
client that waits for every answer. Exits non-zero if a click was lost or an error answered.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench.harness import Server, load, obmin, temp_data_dir

CODE = "alice001"
PATH = f"/ref/{CODE}/?cur_from=PMUSD&cur_to=BTC"
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/120.0.0.0 Safari/537.36")
COUNT = ("from obmin.partners.models import Click; "
         "print(Click.objects.filter(partner__ref_code='alice001').count())")
PARTNER_ID = "from obmin.partners.models import Partner; " \
             "print(Partner.objects.get(ref_code='alice001').pk)"


def stored(data_dir) -> int:  # type: ignore[no-untyped-def]
    return int(obmin("shell", "-c", COUNT, data_dir=data_dir).strip().splitlines()[-1])


def exact_round(url: str, *, clients: int, each: int) -> tuple[int, int]:
    """`clients` threads each send `each` clicks and wait for every answer: (302s, others)."""

    def run(_n: int) -> list[int]:
        with httpx.Client(headers={"User-Agent": CHROME}, follow_redirects=False,
                          timeout=30) as client:
            return [client.get(url).status_code for _ in range(each)]

    with ThreadPoolExecutor(clients) as pool:
        codes = [code for batch in pool.map(run, range(clients)) for code in batch]
    return codes.count(302), len(codes) - codes.count(302)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    data_dir = temp_data_dir("ref")
    obmin("demo", "--no-serve", data_dir=data_dir)
    partner_id = obmin("shell", "-c", PARTNER_ID, data_dir=data_dir).strip().splitlines()[-1]
    returning = {"User-Agent": CHROME,
                 "Cookie": f"obmin_vid=0123456789abcdef; obmin_ref={partner_id}.{int(time.time())}"}
    ok = True
    with Server(data_dir=data_dir, workers=args.workers) as srv:
        # Warm both paths (imports, parsers, the cached partner, settings and directions).
        load(srv.url + "/health/live", connections=4, seconds=2)
        load(srv.url + PATH, connections=4, seconds=2, headers={"User-Agent": CHROME})

        live = load(srv.url + "/health/live", connections=args.connections,
                    seconds=args.seconds)
        before = stored(data_dir)
        new = load(srv.url + PATH, connections=args.connections, seconds=args.seconds,
                   headers={"User-Agent": CHROME})
        time.sleep(1)  # let the requests wrk abandoned finish
        between = stored(data_dir)
        back = load(srv.url + PATH, connections=args.connections, seconds=args.seconds,
                    headers=returning)
        time.sleep(1)
        after = stored(data_dir)
        redirects, others = exact_round(srv.url + PATH, clients=16, each=100)
        exact = stored(data_dir) - after

    print(f"obmin serve, {args.workers} workers, SQLite, {args.connections} connections, "
          f"{args.seconds} s per run")
    print(live.line("/health/live"))
    print(new.line("/ref/ new visitor"))
    print(back.line("/ref/ returning visitor"))
    for label, result in (("new visitor", new), ("returning visitor", back)):
        print(f"ratio {label:<18} cost x{live.rps / result.rps:.2f} of /health/live "
              f"(p99 x{result.p99_ms / live.p99_ms:.2f})")
    for label, result, count in (("new visitor", new, between - before),
                                 ("returning visitor", back, after - between)):
        answered = result.requests - result.non_2xx_3xx
        lost = count < answered or result.errors or result.non_2xx_3xx
        ok = ok and not lost
        print(f"wrk {label:<18} redirects answered {answered}, clicks stored {count} "
              f"(+{count - answered} in flight when wrk stopped; at most "
              f"{args.connections}){'  LOST' if lost else ''}")
    equal = exact == redirects and not others
    print(f"exact round: redirects answered {redirects}, clicks stored {exact}, "
          f"other answers {others}: {'equal' if equal else 'NOT EQUAL'}")
    ok = ok and equal
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
