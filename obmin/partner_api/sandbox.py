"""The sandbox behind test keys: a realistic made-up history, the same for the same key.

Every UTC day since EPOCH has its own clicks, exchanges and (monthly) payouts, drawn from a
random generator seeded with the key's hash and the day, so any time window is answered without
a database row being read or written, and asking twice gives the same answer. add_payout checks
its parameters as the real one does and answers a payout id, changing nothing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice
from typing import TypeVar

from django.utils import timezone
from django.utils.translation import gettext as _

from obmin.lib.ipmask import mask_ip
from obmin.lib.money import quantize_down
from obmin.lib.site import public_url
from obmin.lib.timeutil import from_unix, to_unix
from obmin.partner_api.envelope import ApiError
from obmin.partner_api.models import ApiKey
from obmin.partner_api.records import ClickRow, ExchangeRow, Info, PayoutRow, Window
from obmin.rewards.models import PayoutStatus
from obmin.rewards.selectors import PayoutMethodOffer

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
DAY = 86_400
PAYOUT_EVERY_DAYS = 30
MIN_PAYOUT = Decimal(10)

T = TypeVar("T")

BROWSERS = ("Chrome 124", "Chrome 125", "Chrome Mobile 124", "Firefox 126", "Safari 17",
            "Mobile Safari 17", "Edge 124", "Opera 110", "Unknown")
REFERRERS = ("https://www.bestchange.com/", "https://www.bestchange.com/", "",
             "https://exchangesumo.com/", "https://www.google.com/", "https://t.me/")
# Made-up traffic sources (sub1, sub2) and visitors' countries ("" unknown).
SUB1S = ("", "", "tg-channel", "fb-ads", "yt-review", "bestchange")
SUB2S = ("", "", "banner-1", "banner-2", "post-17")
COUNTRIES = ("UA", "UA", "UA", "PL", "DE", "US", "KZ", "")


@dataclass(frozen=True)
class SandboxDirection:
    """A direction of the made-up exchanger: `rate_give` of `give` buys `rate_get` of `get`."""

    give: str  # currency codes
    get: str
    rate_give: Decimal
    rate_get: Decimal
    get_decimals: int
    give_usd_price: Decimal  # of one unit of `give`


DIRECTIONS = (
    SandboxDirection("PMUSD", "BTC", Decimal(100_000), Decimal(1), 8, Decimal(1)),
    SandboxDirection("USDTTRC20", "P24UAH", Decimal(1), Decimal("40.85"), 2, Decimal(1)),
    SandboxDirection("BTC", "USDTTRC20", Decimal(1), Decimal(99_200), 2, Decimal(100_000)),
    SandboxDirection("PMUSD", "USDTTRC20", Decimal(1), Decimal("0.98"), 2, Decimal(1)),
    SandboxDirection("MONOBUAH", "USDTTRC20", Decimal("41.6"), Decimal(1), 2, Decimal("0.024")),
)


@dataclass(frozen=True)
class SandboxPayoutMethod:
    """A payout method of the made-up exchanger, as rewards.PayoutMethod is of the real one."""

    id: int
    title: str
    commission_percent: Decimal
    currency_code: str
    usd_price: Decimal  # of one unit of currency_code
    decimals: int

    def pay_amount(self, original: Decimal) -> Decimal:
        """What `original` USD of balance pays out by this method, after its commission."""
        return quantize_down(original * (100 - self.commission_percent) / 100 / self.usd_price,
                             self.decimals)


PAYOUT_METHODS = (
    SandboxPayoutMethod(1, "USDT TRC20", Decimal(1), "USDT", Decimal(1), 2),
    SandboxPayoutMethod(2, "Perfect Money USD", Decimal("0.5"), "USD", Decimal(1), 2),
    SandboxPayoutMethod(3, "Card UAH", Decimal(2), "UAH", Decimal("0.024"), 2),
)


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

    def _page(self, window: Window, items: Iterator[T]) -> Iterator[T]:
        stop = None if window.limit is None else window.offset + window.limit
        return islice(items, window.offset, stop)

    # --- clicks ---------------------------------------------------------------------------

    def _day_clicks(self, day: int) -> list[ClickRow]:
        rng = self._rng("clicks", day)
        # Sources from a generator of their own: the draws below stay as they always were.
        sources = self._rng("sources", day)
        day_start = to_unix(EPOCH) + day * DAY
        seconds = sorted(rng.randrange(DAY) for _ in range(rng.randint(12, 60)))
        clicks = []
        for number, second in enumerate(seconds):
            source = rng.random()
            # Drawn in this order (keyword arguments are evaluated as written): the same key
            # must keep getting the same history.
            clicks.append(ClickRow(
                id=1_000_000 + day * 1000 + number,
                created=day_start + second,
                browser=rng.choice(BROWSERS),
                ip=f"{rng.randint(5, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.0",
                referrer=rng.choice(REFERRERS),
                user_hash=f"{rng.getrandbits(32):08x}",
                query_string="cur_from=PMUSD&cur_to=BTC" if source < 0.4 else "",
                sub1=sources.choice(SUB1S),
                sub2=sources.choice(SUB2S),
                country=sources.choice(COUNTRIES),
            ))
        return clicks

    def links(self, window: Window, ip: str = "") -> Iterator[ClickRow]:
        def all_clicks() -> Iterator[ClickRow]:
            for day in self._day_range(window):
                for click in self._day_clicks(day):
                    if (self._within(window, click.created) and (not ip or click.ip == ip)
                            and (window.sub1 is None or click.sub1 == window.sub1)):
                        yield click

        return self._page(window, all_clicks())

    # --- exchanges ------------------------------------------------------------------------

    def _day_exchanges(self, day: int) -> list[ExchangeRow]:
        rng = self._rng("exchanges", day)
        visitors = self._day_clicks(day)
        exchanges: list[ExchangeRow] = []
        for number in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
            click = rng.choice(visitors)
            created = click.created + rng.randint(30, 3600)
            direction = rng.choice(DIRECTIONS)
            rate_give, rate_get = direction.rate_give, direction.rate_get
            # Rates move a little from day to day; the side that is 1 stays 1.
            jitter = 1 + Decimal(rng.randint(-200, 200)) / 10_000
            if rate_get == 1:
                rate_give = quantize_down(rate_give * jitter, 8)
            else:
                rate_get = quantize_down(rate_get * jitter, 8)
            amount_usd = Decimal(rng.randint(2_000, 300_000)) / 100
            amount_give = quantize_down(amount_usd / direction.give_usd_price,
                                        8 if direction.give == "BTC" else 2)
            amount_get = quantize_down(amount_give * rate_get / rate_give,
                                       direction.get_decimals)
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
            _when, status = history[-1]
            reward = quantize_down(amount_usd * Decimal("0.004"), 2)
            exchanges.append(ExchangeRow(
                id=40_000 + day * 10 + number, created=created, rate_give=rate_give,
                rate_get=rate_get, amount_give=amount_give, amount_get=amount_get,
                status=status, reward_accrued=status == "success",
                partner_reward=reward if status == "success" else Decimal(0),
                user_hash=click.user_hash, currency_give_code=direction.give,
                currency_get_code=direction.get, history=history, sub1=click.sub1,
                sub2=click.sub2, country=click.country, updated=history[-1][0],
                # The visitor's address, masked as the click's is (drawn nothing new: the
                # same key keeps getting the same history).
                user_ip=click.ip,
            ))
        return exchanges

    def exchanges(self, window: Window, ip: str = "") -> Iterator[ExchangeRow]:
        if ip:
            # Made-up addresses are masked ones: the filter is compared masked too.
            wanted = mask_ip(ip)
            return self._page(window, (exchange for exchange in self.exchanges(
                replace(window, offset=0, limit=None)) if exchange.user_ip == wanted))
        if window.updated_since is None:
            return self._page(window, self._all_in(window))
        # Incremental sync: a made-up exchange changes for the last time within a day and a
        # half of its creation, so the days from then on hold every change since.
        since = to_unix(window.updated_since)
        earlier = replace(window, start=max(window.start or EPOCH,
                                            from_unix(max(since - 2 * DAY, 0))))
        changed = sorted((e for e in self._all_in(earlier) if e.updated >= since),
                         key=lambda e: (e.updated, e.id))
        return self._page(window, iter(changed))

    def _all_in(self, window: Window) -> Iterator[ExchangeRow]:
        for day in self._day_range(window):
            for exchange in self._day_exchanges(day):
                if (self._within(window, exchange.created)
                        and (window.sub1 is None or exchange.sub1 == window.sub1)):
                    yield exchange

    # --- payouts and the account ----------------------------------------------------------

    def _payout(self, number: int) -> PayoutRow:
        rng = self._rng("payouts", number)
        created = to_unix(EPOCH) + PAYOUT_EVERY_DAYS * (number + 1) * DAY + rng.randrange(DAY)
        method = rng.choice(PAYOUT_METHODS)
        original = Decimal(rng.randint(2_000, 15_000)) / 100
        refused = rng.random() < 0.12
        status = (PayoutStatus.PENDING if to_unix(self.now) - created < 3 * DAY
                  else PayoutStatus.REFUSED if refused else PayoutStatus.PAID)
        account = {"USDT": "TQ" + f"{rng.getrandbits(128):032x}",
                   "USD": f"U{rng.randint(10_000_000, 99_999_999)}",
                   "UAH": f"4149 **** **** {rng.randint(1000, 9999)}"}[method.currency_code]
        return PayoutRow(id=700 + number, created=created, method_id=method.id, account=account,
                         amount=method.pay_amount(original), currency_code=method.currency_code,
                         original_amount=original, original_currency_code="USD", status=status)

    def _payouts_so_far(self) -> int:
        return max((to_unix(self.now) - to_unix(EPOCH)) // (PAYOUT_EVERY_DAYS * DAY), 0)

    def payouts(self, window: Window) -> Iterator[PayoutRow]:
        def all_payouts() -> Iterator[PayoutRow]:
            for number in range(self._payouts_so_far()):
                payout = self._payout(number)
                if self._within(window, payout.created):
                    yield payout

        return self._page(window, all_payouts())

    def _balance(self) -> Decimal:
        return Decimal(self._rng("balance", 0).randint(1_500, 9_000)) / 100

    def info(self) -> Info:
        balance = self._balance()
        payouts = map(self._payout, range(self._payouts_so_far()))
        paid = sum((Decimal(p.original_amount) for p in payouts if p.status == PayoutStatus.PAID),
                   Decimal(0))
        return Info(
            balance=balance,
            # Made-up rewards still in their holding period.
            pending=Decimal(self._rng("pending", 0).randint(0, 3_000)) / 100,
            total_paid=paid,
            # A code no partner has: the link works (redirects) and attributes nothing.
            link=public_url(f"/ref/sandbox-{self.seed[:8]}/"),
            min_payout=MIN_PAYOUT,
            # The made-up methods have no minimum of their own, only MIN_PAYOUT.
            methods=[PayoutMethodOffer(id=m.id, title=m.title,
                                       commission_percent=m.commission_percent,
                                       amount=m.pay_amount(balance),
                                       currency_code=m.currency_code, min_amount=Decimal(0))
                     for m in PAYOUT_METHODS],
        )

    def add_payout(self, method_id: str, account: str) -> int:
        """Checked like a real request; answers the id the payout would get, stores nothing."""
        method = next((m for m in PAYOUT_METHODS if str(m.id) == method_id.strip()), None)
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
