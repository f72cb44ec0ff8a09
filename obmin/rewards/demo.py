"""Demo data for the partner program: rules, payout methods, credited rewards and payouts.

Idempotent: rules and methods are looked up by natural keys, rewards are accrued by
`reward_backfill` (which posts nothing twice), and alice's payouts are made only once.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from obmin.exchange.accounts import EXAMPLES
from obmin.exchange.models import Direction, Exchange, ExchangeStatus
from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.partners.models import Partner
from obmin.rewards.models import Payout, PayoutMethod, PayoutWallet, RewardLevel, RewardProgram
from obmin.rewards.services import payout_mark_paid, payout_request, reward_backfill

D = Decimal

# title, commission %, minimum USD, currency, price of one unit in USD, decimals
PAYOUT_METHODS = [
    ("USDT TRC20", "1", "10", "USDT", "1", 2),
    ("Perfect Money USD", "0.5", "10", "USD", "1", 2),
    ("Bank card UAH", "2", "20", "UAH", "0.0241", 2),
]
LEVELS = [("0", "20"), ("10000", "30"), ("50000", "35")]

# Larger referred exchanges for alice, so that her payouts are worth showing:
# (give, get, amount, days ago)
ALICE_EXCHANGES = [
    [("PMUSD", "USDTTRC20", "4200", 26), ("USDTTRC20", "BTC", "6800", 24),
     ("ADVCUSD", "BTC", "3900", 22)],
    [("PMUSD", "BTC", "4800", 12), ("USDTTRC20", "P24UAH", "7500", 9)],
    [("USDTTRC20", "ETH", "5200", 3), ("PRUSD", "BTC", "2600", 1)],
]


def _alice_exchanges(partner: Partner, batch: int) -> None:
    now = timezone.now()
    for n, (give, get, amount, days) in enumerate(ALICE_EXCHANGES[batch]):
        direction = Direction.objects.get(currency_give__code=give, currency_get__code=get,
                                          city="")
        exchange = exchange_create(direction=direction, amount_give=D(amount),
                                   email=f"rewards{batch}{n}@customer.example",
                                   account_get=EXAMPLES[direction.currency_get.account_format]
                                   or f"demo-rewards-{batch}-{n}",
                                   user_hash=f"a11ce{batch}{n:02d}", partner_id=partner.pk)
        moment = now - timedelta(days=days)
        Exchange.objects.filter(pk=exchange.pk).update(created_at=moment)
        exchange.status_changes.update(created_at=moment)
        exchange_set_status(exchange_id=exchange.pk, status=ExchangeStatus.PAID, actor="demo")
        exchange_set_status(exchange_id=exchange.pk, status=ExchangeStatus.SUCCESS, actor="demo")


def load_rewards() -> None:
    RewardProgram.load()
    for turnover, percent in LEVELS:
        RewardLevel.objects.get_or_create(min_turnover=D(turnover),
                                          defaults={"percent": D(percent)})
    methods = {}
    for title, commission, minimum, currency, price, decimals in PAYOUT_METHODS:
        methods[title], _ = PayoutMethod.objects.get_or_create(
            title=title, defaults={"commission_percent": D(commission), "min_amount": D(minimum),
                                   "currency_code": currency, "usd_price": D(price),
                                   "decimals": decimals})
    # The demo's past exchanges were made before the program existed: credit them now.
    reward_backfill()

    alice = Partner.objects.filter(user__email="alice@example.com").first()
    if alice is None or Payout.objects.filter(partner=alice).exists():
        return
    now = timezone.now()
    _alice_exchanges(alice, 0)
    # Saved long ago: their cooling-off is over.
    for title, account in (("Perfect Money USD", "U12345678"),
                           ("USDT TRC20", "TXk5dQ7hYk3wR8mPz2vLqN6sJfBcD4eGh1")):
        PayoutWallet.objects.get_or_create(
            partner=alice, method=methods[title], removed_at=None,
            defaults={"account": account, "created_at": now - timedelta(days=30),
                      "usable_from": now - timedelta(days=29)})
    paid = payout_request(partner=alice, method_id=methods["Perfect Money USD"].pk,
                          account="U12345678")
    Payout.objects.filter(pk=paid.pk).update(created_at=now - timedelta(days=20))
    payout_mark_paid(payout_id=paid.pk, actor="demo")
    Payout.objects.filter(pk=paid.pk).update(status_changed_at=now - timedelta(days=19))
    _alice_exchanges(alice, 1)
    pending = payout_request(partner=alice, method_id=methods["USDT TRC20"].pk,
                             account="TXk5dQ7hYk3wR8mPz2vLqN6sJfBcD4eGh1")
    Payout.objects.filter(pk=pending.pk).update(created_at=now - timedelta(days=2),
                                                status_changed_at=now - timedelta(days=2))
    _alice_exchanges(alice, 2)
