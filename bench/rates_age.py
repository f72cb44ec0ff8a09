"""Quote age at export: a minute of three venues answering at random delays, the worker's sync
round every 2 s, the export sampled four times a second.

The venues are simulated in process (httpx.MockTransport: each answer after a random delay of
0 to 1.5 s, one in twenty never within the 2 s timeout, each carrying the venue's time of the
answer); the database, the sync and the export's selection are the real ones (SQLite in a
throwaway data directory). For each sample while the direction is exported, its quote age is
now minus the oldest quote behind the exported rate (`Direction.rate_inputs_at`). Target: p95
under twice the venue's interval.

    .venv/bin/python -m bench.rates_age [--seconds 60] [--interval 5]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import threading
import time
from decimal import Decimal

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--interval", type=int, default=5, help="each venue's poll interval")
    args = parser.parse_args()
    data_dir = temp_data_dir("rates")
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
    direction = Direction.objects.create(currency_give=btc, currency_get=usdt,
                                         min_amount=Decimal("0.001"), max_amount=2)
    for name in ("binance", "kraken", "kucoin"):
        RateSource.objects.create(name=name, venue=name, is_enabled=True,
                                  interval_seconds=args.interval, timeout_seconds=TIMEOUT,
                                  max_age_seconds=3 * args.interval)
    MarketRate.objects.create(
        direction=direction, max_jump_percent=5, max_spread_percent=1,
        formula="margin(median([binance:BTCUSDT:bid], [kraken:XBTUSDT:bid], "
                "[kucoin:BTC-USDT:bid]), 1)")
    transport = httpx.MockTransport(venue_answer)
    ages: list[float] = []
    hidden = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal hidden
        while not stop.is_set():
            d = Direction.objects.get(pk=direction.pk)
            now = timezone.now()
            if d.rate_withheld(now) or d.rate_inputs_at is None:
                hidden += 1
            else:
                ages.append((now - d.rate_inputs_at).total_seconds())
            stop.wait(SAMPLE_EVERY)
        close_old_connections()

    sampler = threading.Thread(target=sample)
    started = time.monotonic()
    rates_sync(transport=transport)
    sampler.start()
    while time.monotonic() - started < args.seconds:
        round_started = time.monotonic()
        rates_sync(transport=transport)
        time.sleep(max(0.0, SYNC_EVERY - (time.monotonic() - round_started)))
    stop.set()
    sampler.join()
    ages.sort()
    p95 = ages[int(len(ages) * 0.95) - 1] if ages else float("nan")
    target = 2 * args.interval
    print(f"quote age at export over {args.seconds:.0f} s, venue interval {args.interval} s: "
          f"{len(ages)} samples exported, {hidden} hidden; median {statistics.median(ages):.2f} s,"
          f" p95 {p95:.2f} s, max {ages[-1]:.2f} s; target p95 < {target} s: "
          f"{'met' if p95 < target else 'NOT met'}")


if __name__ == "__main__":
    main()
