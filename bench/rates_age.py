"""Quote age at export: a minute of three venues answering at random delays, the worker's sync
round every 2 s, the export sampled four times a second.

The venues are simulated in process (httpx.MockTransport: each answer after a random delay of
0 to 1.5 s, one in twenty never within the 2 s timeout, each carrying the venue's time of the
answer); the database, the sync and the export's selection are the real ones (SQLite in a
throwaway data directory). For each sample while the direction is exported, its quote age is
now minus the oldest quote behind the exported rate (`Direction.rate_inputs_at`). Target: p95
under twice the venue's interval. `scripts/bench rates` runs it on the bench's PostgreSQL;
obmin/rates/tests/test_quote_age.py measures the same on simulated time.

    .venv/bin/python -m bench.rates_age [--seconds 60] [--interval 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx

from bench.harness import obmin, temp_data_dir

TIMEOUT = 2.0
SYNC_EVERY = 2.0  # the worker's duty
SAMPLE_EVERY = 0.25


def venue_answer(request: httpx.Request) -> httpx.Response:
    """Binance's, Kraken's or KuCoin's ticker, after a random delay."""
    delay = random.uniform(0, 1.5) if random.random() > 0.05 else TIMEOUT + 1
    if delay > TIMEOUT:
        time.sleep(TIMEOUT)
        raise httpx.ReadTimeout("slow venue", request=request)
    time.sleep(delay)
    price = str(Decimal(94500) + Decimal(random.randint(-40, 40)))
    millis = int(time.time() * 1000)
    host = request.url.host
    if host == "api.binance.com":
        return httpx.Response(200, json={"bidPrice": price, "askPrice": price,
                                         "lastPrice": price, "closeTime": millis})
    if host == "api.kraken.com":
        return httpx.Response(200, json={"error": [], "result": {
            "XBTUSDT": {"a": [price], "b": [price], "c": [price]}}})
    return httpx.Response(200, json={"code": "200000", "data": {
        "time": millis, "price": price, "bestBid": price, "bestAsk": price}})


@dataclass
class Measure:
    ages: list[float]  # seconds, one per sample while the direction was exported
    hidden: int  # samples while it was not
    seconds: float
    interval: int

    @property
    def p95(self) -> float:
        ordered = sorted(self.ages)
        return ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)] if ordered else float("nan")

    @property
    def target(self) -> float:
        return 2 * self.interval

    def summary(self) -> str:
        median = statistics.median(self.ages) if self.ages else float("nan")
        return (f"quote age at export over {self.seconds:.0f} s, venue interval "
                f"{self.interval} s: {len(self.ages)} samples exported, {self.hidden} hidden; "
                f"median {median:.2f} s, p95 {self.p95:.2f} s, max "
                f"{max(self.ages, default=float('nan')):.2f} s; target p95 < {self.target:.0f} "
                f"s: {'met' if self.p95 < self.target else 'NOT met'}")


def measure(seconds: float, interval: int, data_dir: Path) -> Measure:
    """The simulated minute against the database of `data_dir` (or DATABASE_URL's), which
    it migrates and fills."""
    obmin("migrate", "-v0", data_dir=data_dir)
    os.environ["OBMIN_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "obmin.settings")
    import django

    django.setup()
    from django.db import close_old_connections
    from django.utils import timezone

    from obmin.exchange.models import Currency, Direction
    from obmin.rates.models import MarketRate, RateSource
    from obmin.rates.services import rates_sync

    btc = Currency.objects.create(code="BTC", title="Bitcoin", decimals=8, reserve=3)
    usdt = Currency.objects.create(code="USDTTRC20", title="Tether", reserve=10**6)
    # Its manual rate near the venues' (a formula's first rate is jump-checked against it).
    direction = Direction.objects.create(currency_give=btc, currency_get=usdt, rate_give=1,
                                         rate_get=94000, min_amount=Decimal("0.001"),
                                         max_amount=2)
    for name in ("binance", "kraken", "kucoin"):
        RateSource.objects.create(name=name, venue=name, is_enabled=True,
                                  interval_seconds=interval, timeout_seconds=TIMEOUT,
                                  max_age_seconds=3 * interval)
    MarketRate.objects.create(
        direction=direction, max_jump_percent=5, max_spread_percent=1,
        formula="margin(median([binance:BTCUSDT:bid], [kraken:XBTUSDT:bid], "
                "[kucoin:BTC-USDT:bid]), 1)")
    transport = httpx.MockTransport(venue_answer)
    result = Measure([], 0, seconds, interval)
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            d = Direction.objects.get(pk=direction.pk)
            now = timezone.now()
            if d.rate_withheld(now) or d.rate_inputs_at is None:
                result.hidden += 1
            else:
                result.ages.append((now - d.rate_inputs_at).total_seconds())
            stop.wait(SAMPLE_EVERY)
        close_old_connections()

    sampler = threading.Thread(target=sample)
    started = time.monotonic()
    rates_sync(transport=transport)
    sampler.start()
    while time.monotonic() - started < seconds:
        round_started = time.monotonic()
        rates_sync(transport=transport)
        time.sleep(max(0.0, SYNC_EVERY - (time.monotonic() - round_started)))
    stop.set()
    sampler.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--interval", type=int, default=5, help="each venue's poll interval")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="an empty data directory (default: a new one under /tmp)")
    parser.add_argument("--json", action="store_true",
                        help="also print the figures as one JSON line (for bench.all)")
    args = parser.parse_args()
    result = measure(args.seconds, args.interval, args.data_dir or temp_data_dir("rates"))
    print(result.summary())
    if args.json:
        print(json.dumps({"samples": len(result.ages), "hidden": result.hidden,
                          "median": statistics.median(result.ages) if result.ages else None,
                          "p95": result.p95, "max": max(result.ages, default=None),
                          "target": result.target, "interval": result.interval,
                          "seconds": result.seconds}))


if __name__ == "__main__":
    main()
