"""The partner API on a big history: one partner with 1,000,000 clicks and 100,000 exchanges.

    .venv/bin/python -m bench.partner_api [--clicks 1000000] [--exchanges 100000] [--workers 2]

Builds the database (SQLite in a temporary OBMIN_DATA_DIR, raw executemany: two minutes or so;
`--data-dir DIR` reuses an earlier run's),
starts `obmin serve`, then measures, beside `/health/live` on the same server in the same run:
- one-day `get_links` and `get_exchanges` under load (wrk): requests/s, p50/p99 latency;
- the whole year of each, streamed: seconds, items/s, every item counted (exits non-zero if
  one is missing), and the serving workers' peak RSS (VmHWM) after a one-day answer and after
  the year, so memory growing with the result would show as a difference.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from bench.harness import Server, load, peak_rss_kib, temp_data_dir

YEAR_START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 366
ONE_DAY = (int(datetime(2024, 7, 1, tzinfo=UTC).timestamp()),
           int(datetime(2024, 7, 1, 23, 59, 59, tzinfo=UTC).timestamp()))
YEAR = (int(YEAR_START.timestamp()), int((YEAR_START + timedelta(days=DAYS)).timestamp()) - 1)
RATE = "100000000/m"  # the benchmark measures the endpoint, not the rate limit


def build(data_dir: Path, clicks: int, exchanges: int) -> str:
    """Creates the schema and the history in-process; returns alice's live API key."""
    os.environ["OBMIN_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "obmin.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from obmin.exchange.models import Exchange, ExchangeStatusChange
    from obmin.partner_api.services import apikey_create
    from obmin.partners.models import Click, Partner
    from obmin.stats.services import clicks_roll_up, exchanges_roll_up
    from obmin.testing.factories import (
        CurrencyFactory,
        DirectionFactory,
        PartnerFactory,
        UserFactory,
    )

    call_command("migrate", verbosity=0)
    if Partner.objects.filter(ref_code="alice001").exists():  # --data-dir of an earlier run
        return apikey_create(partner=Partner.objects.get(ref_code="alice001"))[1]
    usd = CurrencyFactory(code="PMUSD", decimals=2, usd_price=Decimal(1))
    btc = CurrencyFactory(code="BTC", decimals=8, usd_price=Decimal(100000))
    direction = DirectionFactory(currency_give=usd, currency_get=btc,
                                 rate_give=Decimal(100000), rate_get=Decimal(1))
    alice = PartnerFactory(user=UserFactory(email="alice@example.com"), ref_code="alice001")
    _key, raw_key = apikey_create(partner=alice, name="bench")
    rng = random.Random(1)
    span = DAYS * 86_400

    def insert(model, rows, fixed):  # type: ignore[no-untyped-def]
        """Raw executemany of `rows` (dicts of varying fields) plus `fixed` fields' values."""
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        varying = list(rows[0]) if rows else []
        constant = {}
        for f in fields:
            if f.attname not in varying:
                value = fixed.get(f.attname, f.get_default())
                constant[f.attname] = f.get_db_prep_save(value, connection)
        by_name = {f.attname: f for f in fields}
        names = varying + list(constant)
        sql = (f'INSERT INTO "{model._meta.db_table}" ('
               + ", ".join(f'"{by_name[n].column}"' for n in names)
               + ") VALUES (" + ", ".join(["%s"] * len(names)) + ")")
        tail = tuple(constant.values())
        prep = [by_name[n] for n in varying]
        values = (tuple(f.get_db_prep_save(row[f.attname], connection) for f in prep) + tail
                  for row in rows)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # COPY: several times faster than executemany for a million rows.
                copy_sql = (f'COPY "{model._meta.db_table}" ('
                            + ", ".join(f'"{by_name[n].column}"' for n in names)
                            + ") FROM STDIN")
                with cursor.cursor.copy(copy_sql) as copy:
                    for row in values:
                        copy.write_row(row)
            else:
                cursor.executemany(sql, list(values))

    if connection.vendor == "postgresql":
        # The year's monthly click partitions, as the worker would have made them month by
        # month (else every click of 2024 would land in the DEFAULT partition).
        from obmin.partners.partitions import click_partitions_ensure

        for month in range(13):
            click_partitions_ensure(now=datetime(2024 + month // 12, month % 12 + 1, 1,
                                                 tzinfo=UTC))
    browsers = ["Chrome 124", "Firefox 126", "Safari 17", "Edge 124", "Unknown"]
    batch = 100_000
    with transaction.atomic():
        for first in range(0, clicks, batch):
            times = sorted(rng.randrange(span) for _ in range(min(batch, clicks - first)))
            # Spread each batch over the whole year: the index, not insertion order, sorts.
            insert(Click, [{
                "created_at": YEAR_START + timedelta(seconds=t),
                "browser": browsers[t % 5], "ip": f"203.0.{t % 256}.0",
                "referrer": "https://www.bestchange.com/", "user_hash": f"{t:08x}",
                "query_string": "cur_from=PMUSD&cur_to=BTC",
            } for t in times], {"partner_id": alice.pk})
        rows, changes = [], []
        for n in range(exchanges):
            t = rng.randrange(span)
            rows.append({"token": f"bench{n}-{secrets.token_hex(4)}",
                         "created_at": YEAR_START + timedelta(seconds=t),
                         "status_changed_at": YEAR_START + timedelta(seconds=t + 600),
                         "amount_give": Decimal(rng.randint(2000, 300000)) / 100,
                         "status": "success" if n % 5 else "cancelled",
                         "reward_accrued": bool(n % 5), "user_hash": f"{t:08x}"})
        for row in rows:
            row["amount_get"] = (row["amount_give"] / 100000).quantize(Decimal("0.00000001"))
            row["partner_reward"] = (row["amount_give"] * Decimal("0.004")).quantize(
                Decimal("0.01")) if row["reward_accrued"] else Decimal(0)
        insert(Exchange, rows, {
            "direction_id": direction.pk, "currency_give_id": usd.pk, "currency_get_id": btc.pk,
            "rate_give": Decimal(100000), "rate_get": Decimal(1), "usd_price_give": Decimal(1),
            "usd_price_get": Decimal(100000), "email": "c@example.org", "account_get": "bc1q",
            "partner_id": alice.pk, "profit_percent": Decimal(2)})
        ids = dict(Exchange.objects.filter(partner=alice).values_list("token", "id"))
        for row in rows:
            exchange_id = ids[row["token"]]
            changes.append({"exchange_id": exchange_id, "status": "new",
                            "created_at": row["created_at"]})
            changes.append({"exchange_id": exchange_id, "status": row["status"],
                            "created_at": row["status_changed_at"]})
        insert(ExchangeStatusChange, changes, {})
    # A year's history has been rolled up into statistics as it came (the worker does it
    # every 30 s), as `obmin demo --clicks` does for the cabinet's benchmark. Otherwise the
    # worker started beside the server rolls up the whole year while the API is measured.
    clicks_roll_up(settle=False)
    exchanges_roll_up()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return raw_key


def url(srv: Server, key: str, method: str, window: tuple[int, int]) -> str:
    return (f"{srv.url}/service/partner/api.php?api_action=pp&api_key={key}&method={method}"
            f"&start_time={window[0]}&end_time={window[1]}")


def stream(link: str, marker: bytes) -> tuple[float, int, bool]:
    """Seconds to read the whole answer, items counted by `marker`, and whether it ended."""
    count, tail = 0, b""
    started = time.perf_counter()
    with httpx.stream("GET", link, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes(1 << 16):
            data = tail + chunk
            count += data.count(marker)
            tail = data[-(len(marker) - 1):]
    ended = tail.endswith(b"}}}")
    return time.perf_counter() - started, count, ended


def rss_sampler(pids: list[int], stop: threading.Event, peak: dict[int, int]) -> None:
    while not stop.is_set():
        for pid in pids:
            try:
                text = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in text.splitlines():
                if line.startswith("VmRSS:"):
                    peak[pid] = max(peak.get(pid, 0), int(line.split()[1]))
        time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clicks", type=int, default=1_000_000)
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--redis", default="",
                        help="REDIS_URL for the server's cache and rate limits, as in "
                             "production (default: the file cache of a single host).")
    parser.add_argument("--database-url", default="",
                        help="an EMPTY PostgreSQL database to build in instead of SQLite")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="Reuse the database an earlier run built there.")
    args = parser.parse_args()

    data_dir = args.data_dir or temp_data_dir("partner-api")
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    started = time.perf_counter()
    key = build(data_dir, args.clicks, args.exchanges)
    print(f"built or reused {args.clicks} clicks, {args.exchanges} exchanges in "
          f"{time.perf_counter() - started:.0f} s ({data_dir})")
    env = {"PARTNER_API_RATE": RATE, "PARTNER_API_BAD_KEY_RATE": RATE}
    if args.redis:
        env["REDIS_URL"] = args.redis
        env["CACHE_KEY_PREFIX"] = f"bench-{secrets.token_hex(4)}"
    ok = True
    with Server(data_dir=data_dir, workers=args.workers, env=env) as srv:
        pids = srv.worker_pids()
        for method in ("get_links", "get_exchanges"):
            httpx.get(url(srv, key, method, ONE_DAY), timeout=60)
        load(srv.url + "/health/live", connections=4, seconds=2)
        live = load(srv.url + "/health/live", connections=args.connections,
                    seconds=args.seconds)
        day = {}
        for method in ("get_links", "get_exchanges"):
            day[method] = load(url(srv, key, method, ONE_DAY), connections=args.connections,
                               seconds=args.seconds)
        single = {}
        with httpx.Client(timeout=60) as client:  # one keep-alive connection, as a script has
            for method in ("/health/live", "get_info", "get_links", "get_exchanges"):
                link = (srv.url + method if method.startswith("/")
                        else url(srv, key, method, ONE_DAY))
                times = []
                for _ in range(30):
                    t0 = time.perf_counter()
                    response = client.get(link)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200
                items = 0 if method.startswith("/") else len(response.json()["data"]["items"])
                single[method] = (sorted(times)[len(times) // 2], items)
        hwm_day = {pid: peak_rss_kib(pid) for pid in pids}
        year = {}
        stop, peak = threading.Event(), {}
        sampler = threading.Thread(target=rss_sampler, args=(pids, stop, peak), daemon=True)
        sampler.start()
        for method, marker, expected in (("get_links", b'"query_string"', args.clicks),
                                         ("get_exchanges", b'"statuses"', args.exchanges)):
            seconds, count, ended = stream(url(srv, key, method, YEAR), marker)
            year[method] = (seconds, count, ended, expected)
            ok = ok and count == expected and ended
        stop.set()
        sampler.join()
        hwm_year = {pid: peak_rss_kib(pid) for pid in pids}

    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"obmin serve, {args.workers} workers, {database}, {args.connections} connections, "
          f"{args.seconds} s per wrk run")
    print(f"cache: {'Redis' if args.redis else 'file cache'}")
    print(live.line("/health/live"))
    for method, result in day.items():
        print(result.line(f"{method} one day"))
        print(f"  x{live.rps / result.rps:.1f} the cost of /health/live")
    print("one client, one keep-alive connection, p50 of 30 requests:")
    for method, (p50, items) in single.items():
        print(f"  {method:<14} {p50:6.1f} ms  {items} items  "
              f"(x{p50 / single['/health/live'][0]:.1f} /health/live)")
    for method, (seconds, count, ended, expected) in year.items():
        print(f"{method} whole year: {count} of {expected} items in {seconds:.1f} s = "
              f"{count / seconds:,.0f} items/s{'' if ended else '  (answer did not end!)'}")
    for pid in pids:
        print(f"pid {pid}: peak RSS after one-day answers {hwm_day[pid] / 1024:.0f} MiB, "
              f"after streaming the year {hwm_year[pid] / 1024:.0f} MiB "
              f"(sampled peak {peak.get(pid, 0) / 1024:.0f} MiB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
