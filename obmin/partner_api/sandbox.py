"""The sandbox behind test keys: a realistic made-up history, the same for the same key.

Every UTC day since EPOCH has its own clicks, exchanges and (monthly) payouts, drawn from a
random generator seeded with the key's hash and the day, so any time window is answered without
a database row being read or written, and asking twice gives the same answer. add_payout checks
its parameters as the real one does and answers a payout id, changing nothing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from itertools import islice

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from obmin.lib.timeutil import to_unix
from obmin.partner_api.models import ApiKey
from obmin.partner_api.sources import (
    ClickRow,
    ExchangeRow,
    Info,
    PayoutOffer,
    PayoutRow,
    Window,
)
from obmin.partner_api.wire import ApiError

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
DAY = 86_400
PAYOUT_EVERY_DAYS = 30
MIN_PAYOUT = Decimal(10)
CENT = Decimal("0.01")

BROWSERS = ("Chrome 124", "Chrome 125", "Chrome Mobile 124", "Firefox 126", "Safari 17",
            "Mobile Safari 17", "Edge 124", "Opera 110", "Unknown")
REFERRERS = ("https://www.bestchange.com/", "https://www.bestchange.com/", "",
             "https://exchangesumo.com/", "https://www.google.com/", "https://t.me/")
# (give, get, rate_give, rate_get, decimals of get, USD price of give)
DIRECTIONS = (
    ("PMUSD", "BTC", Decimal(100_000), Decimal(1), 8, Decimal(1)),
    ("USDTTRC20", "P24UAH", Decimal(1), Decimal("40.85"), 2, Decimal(1)),
    ("BTC", "USDTTRC20", Decimal(1), Decimal(99_200), 2, Decimal(100_000)),
    ("PMUSD", "USDTTRC20", Decimal(1), Decimal("0.98"), 2, Decimal(1)),
    ("MONOBUAH", "USDTTRC20", Decimal("41.6"), Decimal(1), 2, Decimal("0.024")),
)
# (id, title, commission %, currency, USD price of one unit, decimals)
METHODS = (
    (1, "USDT TRC20", Decimal(1), "USDT", Decimal(1), 2),
    (2, "Perfect Money USD", Decimal("0.5"), "USD", Decimal(1), 2),
    (3, "Card UAH", Decimal(2), "UAH", Decimal("0.024"), 2),
)


def _quantize(amount: Decimal, decimals: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN)


def _pay_amount(method: tuple, original: Decimal) -> Decimal:
    _id, _title, commission, _code, usd_price, decimals = method
    return _quantize(original * (100 - commission) / 100 / usd_price, decimals)


class SandboxSource:
    """Answers for a test key; `now` is fixed per request so one answer is self-consistent."""

    def __init__(self, key: ApiKey, now: datetime | None = None) -> None:
        self.seed = key.key_hash
        self.now = now or timezone.now()

    def _rng(self, kind: str, index: int) -> random.Random:
        return random.Random(f"{self.seed}:{kind}:{index}")

    def _day_range(self, window: Window) -> range:
        start = max(window.start or EPOCH, EPOCH)
        end = min(window.end or self.now, self.now)
        if end < start:
            return range(0)
        return range((to_unix(start) - to_unix(EPOCH)) // DAY,
                     (to_unix(end) - to_unix(EPOCH)) // DAY + 1)

    def _within(self, window: Window, seconds: int) -> bool:
        return ((window.start is None or seconds >= to_unix(window.start))
                and (window.end is None or seconds <= to_unix(window.end))
                and seconds <= to_unix(self.now))

    def _page(self, window: Window, items: Iterator) -> Iterator:
        stop = None if window.limit is None else window.offset + window.limit
        return islice(items, window.offset, stop)

    # --- clicks ---------------------------------------------------------------------------

    def _day_clicks(self, day: int) -> list[ClickRow]:
        rng = self._rng("clicks", day)
        day_start = to_unix(EPOCH) + day * DAY
        seconds = sorted(rng.randrange(DAY) for _ in range(rng.randint(12, 60)))
        clicks = []
        for number, second in enumerate(seconds):
            source = rng.random()
            clicks.append((
                1_000_000 + day * 1000 + number,
                day_start + second,
                rng.choice(BROWSERS),
                f"{rng.randint(5, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.0",
                rng.choice(REFERRERS),
                f"{rng.getrandbits(32):08x}",
                "cur_from=PMUSD&cur_to=BTC" if source < 0.4 else "",
            ))
        return clicks

    def links(self, window: Window, ip: str = "") -> Iterator[ClickRow]:
        def all_clicks() -> Iterator[ClickRow]:
            for day in self._day_range(window):
                for click in self._day_clicks(day):
                    if self._within(window, click[1]) and (not ip or click[3] == ip):
                        yield click

        return self._page(window, all_clicks())

    # --- exchanges ------------------------------------------------------------------------

    def _day_exchanges(self, day: int) -> list[ExchangeRow]:
        rng = self._rng("exchanges", day)
        visitors = self._day_clicks(day)
        exchanges: list[ExchangeRow] = []
        for number in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
            click = rng.choice(visitors)
            created = click[1] + rng.randint(30, 3600)
            give, get, rate_give, rate_get, decimals, usd_price = rng.choice(DIRECTIONS)
            # Rates move a little from day to day; the side that is 1 stays 1.
            jitter = 1 + Decimal(rng.randint(-200, 200)) / 10_000
            if rate_get == 1:
                rate_give = _quantize(rate_give * jitter, 8)
            else:
                rate_get = _quantize(rate_get * jitter, 8)
            amount_usd = Decimal(rng.randint(2_000, 300_000)) / 100
            amount_give = _quantize(amount_usd / usd_price, 8 if give == "BTC" else 2)
            amount_get = _quantize(amount_give * rate_get / rate_give, decimals)
            history = [(created, "new")]
            fate = rng.random()
            moment = created + rng.randint(60, 900)
            if fate < 0.1:
                history.append((moment, "cancelled"))
            else:
                history.append((moment, "paid"))
                moment += rng.randint(300, 3600)
                history.append((moment, "error" if fate < 0.18 else "success"))
            history = [(when, status) for when, status in history if when <= to_unix(self.now)]
            if not history:
                continue  # not made yet (the draws above are made anyway: later ones stay put)
            status = history[-1][1]
            reward = _quantize(amount_usd * Decimal("0.004"), 2)
            exchanges.append((
                40_000 + day * 10 + number, created, rate_give, rate_get, amount_give,
                amount_get, status, status == "success", reward if status == "success" else
                Decimal(0), click[5], give, get, history,
            ))
        return exchanges

    def exchanges(self, window: Window) -> Iterator[ExchangeRow]:
        def all_exchanges() -> Iterator[ExchangeRow]:
            for day in self._day_range(window):
                for exchange in self._day_exchanges(day):
                    if self._within(window, exchange[1]):
                        yield exchange

        return self._page(window, all_exchanges())

    # --- payouts and the account ----------------------------------------------------------

    def _payout(self, number: int) -> PayoutRow:
        rng = self._rng("payouts", number)
        created = to_unix(EPOCH) + PAYOUT_EVERY_DAYS * (number + 1) * DAY + rng.randrange(DAY)
        method = rng.choice(METHODS)
        original = Decimal(rng.randint(2_000, 15_000)) / 100
        refused = rng.random() < 0.12
        status = 0 if to_unix(self.now) - created < 3 * DAY else 2 if refused else 1
        account = {"USDT": "TQ" + f"{rng.getrandbits(128):032x}",
                   "USD": f"U{rng.randint(10_000_000, 99_999_999)}",
                   "UAH": f"4149 **** **** {rng.randint(1000, 9999)}"}[method[3]]
        return (700 + number, created, method[0], account, _pay_amount(method, original),
                method[3], original, "USD", status)

    def _payouts_so_far(self) -> int:
        return max((to_unix(self.now) - to_unix(EPOCH)) // (PAYOUT_EVERY_DAYS * DAY), 0)

    def payouts(self, window: Window) -> Iterator[PayoutRow]:
        def all_payouts() -> Iterator[PayoutRow]:
            for number in range(self._payouts_so_far()):
                payout = self._payout(number)
                if self._within(window, payout[1]):
                    yield payout

        return self._page(window, all_payouts())

    def _balance(self) -> Decimal:
        return Decimal(self._rng("balance", 0).randint(1_500, 9_000)) / 100

    def info(self) -> Info:
        balance = self._balance()
        paid = sum((Decimal(p[6]) for p in map(self._payout, range(self._payouts_so_far()))
                    if p[8] == 1), Decimal(0))
        return Info(
            balance=balance,
            total_paid=paid,
            # A code no partner has: the link works (redirects) and attributes nothing.
            link=f"{settings.SITE_URL}/ref/sandbox-{self.seed[:8]}/",
            min_payout=MIN_PAYOUT,
            methods=[PayoutOffer(m[0], m[1], m[2], _pay_amount(m, balance)) for m in METHODS],
        )

    def add_payout(self, method_id: str, account: str) -> int:
        """Checked like a real request; answers the id the payout would get, stores nothing."""
        method = next((m for m in METHODS if str(m[0]) == method_id.strip()), None)
        if method is None:
            raise ApiError(4, "method_id: " + _("Unknown payout method: %(id)s.")
                           % {"id": method_id})
        account = account.strip()
        if not account or len(account) > 200:
            raise ApiError(4, "account: " + _("Enter the account to pay to (up to 200 "
                                              "characters)."))
        if self._balance() < MIN_PAYOUT:
            raise ApiError(4, "balance: " + _("The balance is below the minimum payout."))
        return 700 + self._payouts_so_far()
