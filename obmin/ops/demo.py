"""Demo data: a plausible exchanger with partners, clicks and past exchanges.

Idempotent: every row is looked up by a natural key first, so a second run adds nothing twice.
`DEMO_STEPS` lists every room's loader in the order they build on each other.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from obmin.exchange.accounts import EXAMPLES, SUGGESTED_FORMATS, AccountFormat
from obmin.exchange.models import (
    Currency,
    Direction,
    DirectionField,
    Exchange,
    ExchangeStatus,
)
from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.partners.demo import load_clicks
from obmin.partners.models import Partner
from obmin.rates.demo import load_market_rates
from obmin.rewards.demo import load_rewards
from obmin.stats.services import clicks_roll_up, exchanges_roll_up

D = Decimal

# code, title, decimals, reserve, USD price
CURRENCIES = [
    ("PMUSD", "Perfect Money USD", 2, "48250.00", "1"),
    ("ADVCUSD", "AdvCash USD", 2, "31400.00", "1"),
    ("PRUSD", "Payeer USD", 2, "22750.00", "1"),
    ("CASHUSD", "Cash USD", 2, "90000.00", "1"),
    ("BTC", "Bitcoin", 8, "3.85214700", "96500"),
    ("ETH", "Ethereum", 8, "64.30000000", "3450"),
    ("LTC", "Litecoin", 8, "820.50000000", "92.40"),
    ("XMR", "Monero", 8, "410.00000000", "158.70"),
    ("TON", "Toncoin", 6, "15400.000000", "5.42"),
    ("USDTTRC20", "Tether TRC20", 2, "185000.00", "1"),
    ("USDTERC20", "Tether ERC20", 2, "96000.00", "1"),
    ("P24UAH", "PrivatBank UAH", 2, "2650000.00", "0.0241"),
    ("MONOBUAH", "Monobank UAH", 2, "1980000.00", "0.0241"),
    ("CARDUAH", "Visa/MasterCard UAH", 2, "1200000.00", "0.0241"),
    ("SBERRUB", "Sberbank RUB", 2, "8400000.00", "0.0108"),
]

# Where customers pay each currency: code, our account or address, memo, instructions (en, uk).
PAYMENT = [
    ("PMUSD", "U41738205", "", "Pay from your Perfect Money USD wallet to this U account.",
     "Сплатіть зі свого гаманця Perfect Money USD на цей U-рахунок."),
    ("ADVCUSD", "U730481926554", "", "Pay from your AdvCash USD wallet.",
     "Сплатіть зі свого гаманця AdvCash USD."),
    ("PRUSD", "P1083467215", "", "Pay from your Payeer USD wallet.",
     "Сплатіть зі свого гаманця Payeer USD."),
    ("BTC", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "",
     "Send exactly this amount in one transaction; we wait for 2 confirmations.",
     "Надішліть рівно цю суму однією транзакцією; ми чекаємо 2 підтвердження."),
    ("ETH", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "",
     "Ethereum network (ERC20) only; we wait for 12 confirmations.",
     "Лише мережа Ethereum (ERC20); ми чекаємо 12 підтверджень."),
    ("USDTERC20", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "",
     "USDT on the Ethereum network (ERC20) only.", "USDT лише в мережі Ethereum (ERC20)."),
    ("USDTTRC20", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "",
     "USDT on the TRON network (TRC20) only; other networks are lost.",
     "USDT лише в мережі TRON (TRC20); перекази в інших мережах втрачаються."),
    ("LTC", "ltc1qg42tkwuuxefutzxezdkdel39gfstuap288mfea", "", "", ""),
    ("XMR", "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7"
     "f2wfn3RVGQBEP3A", "", "", ""),
    ("TON", "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N", "70412",
     "Put the memo in the comment of the transfer, or we cannot find your payment.",
     "Вкажіть мемо в коментарі переказу, інакше ми не знайдемо ваш платіж."),
    ("P24UAH", "4149 4993 0123 4567", "",
     "Transfer from your PrivatBank card in Privat24; the recipient is FOP Obmin.",
     "Переказ зі своєї картки ПриватБанку в Приват24; отримувач ФОП Обмін."),
    ("MONOBUAH", "5375 4141 0123 4567", "",
     "Transfer from your Monobank card; the recipient is FOP Obmin.",
     "Переказ зі своєї картки Монобанку; отримувач ФОП Обмін."),
    ("CARDUAH", "4111 1111 1111 1111", "", "Any Ukrainian Visa or MasterCard in your name.",
     "Будь-яка українська картка Visa або MasterCard на ваше ім'я."),
    ("CASHUSD", "", "", "Cash in our Kyiv office, 12 Khreshchatyk St., 10:00-19:00.",
     "Готівкою в нашому офісі в Києві, вул. Хрещатик, 12, 10:00-19:00."),
]

# give, get, profit % (margin in the rate), min give, max give, flags, city
DIRECTIONS = [
    ("PMUSD", "BTC", "2.5", "10", "5000", "", ""),
    ("PMUSD", "ETH", "2.5", "10", "5000", "", ""),
    ("PMUSD", "USDTTRC20", "1.5", "10", "10000", "", ""),
    ("PMUSD", "P24UAH", "2", "10", "3000", "", ""),
    ("PMUSD", "MONOBUAH", "2", "10", "3000", "", ""),
    ("ADVCUSD", "BTC", "2.5", "10", "5000", "", ""),
    ("ADVCUSD", "USDTTRC20", "1.5", "10", "10000", "", ""),
    ("PRUSD", "BTC", "3", "10", "3000", "", ""),
    ("PRUSD", "USDTTRC20", "2", "10", "5000", "", ""),
    ("BTC", "PMUSD", "2", "0.0002", "1", "", ""),
    ("BTC", "USDTTRC20", "1", "0.0002", "2", "", ""),
    ("BTC", "P24UAH", "2", "0.0002", "0.5", "", ""),
    ("BTC", "MONOBUAH", "2", "0.0002", "0.5", "", ""),
    ("BTC", "XMR", "1.5", "0.0002", "1", "", ""),
    ("ETH", "USDTTRC20", "1", "0.005", "30", "", ""),
    ("ETH", "BTC", "1", "0.005", "30", "", ""),
    ("ETH", "P24UAH", "2", "0.005", "10", "", ""),
    ("LTC", "BTC", "1.5", "0.1", "500", "", ""),
    ("LTC", "USDTTRC20", "1.5", "0.1", "500", "", ""),
    ("XMR", "BTC", "2", "0.05", "100", "", ""),
    ("XMR", "USDTTRC20", "2", "0.05", "100", "", ""),
    ("TON", "USDTTRC20", "1.5", "2", "5000", "", ""),
    ("USDTTRC20", "BTC", "1", "10", "50000", "", ""),
    ("USDTTRC20", "ETH", "1", "10", "50000", "", ""),
    ("USDTTRC20", "PMUSD", "1.5", "10", "20000", "", ""),
    ("USDTTRC20", "P24UAH", "1.5", "10", "10000", "", ""),
    ("USDTTRC20", "MONOBUAH", "1.5", "10", "10000", "", ""),
    ("USDTTRC20", "CARDUAH", "2", "10", "10000", "card2card", ""),
    ("USDTTRC20", "SBERRUB", "3", "20", "5000", "manual,verifying", ""),
    ("USDTTRC20", "CASHUSD", "2", "500", "50000", "manual,delivery", "KIEV"),
    ("USDTTRC20", "TON", "1.5", "10", "10000", "", ""),
    ("USDTERC20", "USDTTRC20", "0.5", "50", "50000", "", ""),
    ("P24UAH", "USDTTRC20", "2", "500", "200000", "cardverify", ""),
    ("MONOBUAH", "USDTTRC20", "2", "500", "200000", "cardverify", ""),
    ("CARDUAH", "BTC", "3", "500", "100000", "cardverify", ""),
    ("SBERRUB", "USDTTRC20", "3", "1000", "500000", "manual", ""),
    ("CASHUSD", "USDTTRC20", "1.5", "500", "50000", "manual", "KIEV"),
]

# Fields some directions ask (Premium's names; API v1's get_direction lists them): give,
# get, e-mail field, whether paid automatically, and (name, English, Ukrainian, required).
# Premium sites differ: here the card direction asks the e-mail as cf6, the Privat24 one as cf1.
DIRECTION_FIELDS = [
    ("CARDUAH", "BTC", "cf6", False, [
        ("account1", "Card number you pay from", "Номер картки, з якої платите", True),
        ("cfgive8", "Cardholder's name", "Імʼя власника картки", True),
        ("cf4", "Phone", "Телефон", False),
    ]),
    ("USDTTRC20", "P24UAH", "cf1", False, [
        ("cf1", "E-mail", "Електронна пошта", True),
        ("cf3", "Last name", "Прізвище", True),
        ("cf11", "Telegram", "Telegram", False),
    ]),
    ("USDTERC20", "USDTTRC20", "cf6", True, []),
]

DEMO_PASSWORD = "demo-partner-2026"
DEMO_PARTNERS = [
    ("alice@example.com", "alice001"),
    ("bob@example.com", "bob00002"),
    ("monitor@example.com", "bestmon1"),
]
ADMIN = ("admin", "admin@example.com", "admin-demo-2026")


# Where the operator checks a customer's transaction: the block explorers of the crypto ones.
EXPLORERS = {
    "BTC": "https://mempool.space/tx/{txid}",
    "ETH": "https://etherscan.io/tx/{txid}",
    "USDTERC20": "https://etherscan.io/tx/{txid}",
    "USDTTRC20": "https://tronscan.org/#/transaction/{txid}",
    "LTC": "https://blockchair.com/litecoin/transaction/{txid}",
    "XMR": "https://xmrchain.net/tx/{txid}",
    "TON": "https://tonviewer.com/transaction/{txid}",
}


def demo_txid(currency: Currency, n: int) -> str:
    """A transaction id of the demo's n-th exchange as the currency writes them: 64 hex digits
    on a blockchain, a payment system's batch number elsewhere (not from the demo's random
    sequence, which the rest of the data follows)."""
    digest = hashlib.sha256(f"obmin-demo-{n}".encode()).hexdigest()
    return digest if currency.code in EXPLORERS else str(int(digest[:12], 16))[:9]


def _rate(give: Currency, get: Currency, profit: Decimal) -> tuple[Decimal, Decimal]:
    """in:out with one side exactly 1 and the exchanger's margin taken from the customer."""
    value = give.usd_price / get.usd_price * (1 - profit / 100)
    if value >= 1:
        return D(1), value.quantize(D("0.0001"))
    return (1 / value).quantize(D("0.0001")), D(1)


def load_currencies_and_directions() -> None:
    currencies = {}
    for code, title, decimals, reserve, price in CURRENCIES:
        currencies[code], _ = Currency.objects.get_or_create(
            code=code, defaults={"title": title, "decimals": decimals, "reserve": D(reserve),
                                 "usd_price": D(price),
                                 "account_format": SUGGESTED_FORMATS.get(code, AccountFormat.ANY)})
    for code, pay_to, memo, text, text_uk in PAYMENT:
        # Only where the operator has set nothing yet.
        Currency.objects.filter(code=code, pay_to="", pay_instructions="").update(
            pay_to=pay_to, pay_memo=memo, pay_instructions=text, pay_instructions_uk=text_uk)
    for code, explorer in EXPLORERS.items():
        Currency.objects.filter(code=code, explorer_url="").update(explorer_url=explorer)
    for give, get, profit, low, high, flags, city in DIRECTIONS:
        rate_give, rate_get = _rate(currencies[give], currencies[get], D(profit))
        Direction.objects.get_or_create(
            currency_give=currencies[give], currency_get=currencies[get], city=city,
            defaults={"rate_give": rate_give, "rate_get": rate_get, "min_amount": D(low),
                      "max_amount": D(high), "profit_percent": D(profit), "flags": flags})


def load_direction_fields() -> None:
    """The fields of DIRECTION_FIELDS, on directions that ask none yet."""
    for give, get, email_field, automatic, fields in DIRECTION_FIELDS:
        direction = Direction.objects.filter(currency_give__code=give,
                                             currency_get__code=get, city="").first()
        if direction is None or direction.asked_fields.exists():
            continue
        direction.email_field = email_field
        direction.automatic_payment = automatic
        direction.save(update_fields=["email_field", "automatic_payment"])
        DirectionField.objects.bulk_create(
            DirectionField(direction=direction, name=name, label=label, label_uk=label_uk,
                           required=required, position=n)
            for n, (name, label, label_uk, required) in enumerate(fields))


def load_users() -> None:
    User = get_user_model()
    username, email, password = ADMIN
    if not User.objects.filter(username=username).exists():
        User.objects.create_superuser(username=username, email=email, password=password)
    for email, code in DEMO_PARTNERS:
        user = User.objects.filter(username=email).first()
        if user is None:
            user = User.objects.create_user(username=email, email=email, password=DEMO_PASSWORD)
        Partner.objects.get_or_create(user=user, defaults={"ref_code": code, "export_code": code})


def load_exchanges() -> None:
    """Sixty past exchanges over the last 30 days, a third of them referred by alice or bob."""
    # Its own customers only: `--clicks` generates others (gen<n>@customer.example).
    if Exchange.objects.filter(email__startswith="customer",
                               email__endswith="@customer.example").exists():
        return
    rng = random.Random(2026)  # same demo every time
    directions = list(Direction.objects.active().select_related("currency_give", "currency_get"))
    partners = list(Partner.objects.filter(ref_code__in=["alice001", "bob00002"]))
    now = timezone.now()
    for n in range(60):
        direction = rng.choice(directions)
        low, high = direction.min_amount, direction.max_amount or direction.min_amount * 100
        amount = (low + (high - low) * D(rng.random()) / 20).quantize(
            D(1).scaleb(-direction.currency_give.decimals))
        partner = partners[n % 2] if n % 3 == 0 and partners else None
        created = now - timedelta(days=30) + timedelta(hours=12 * n, minutes=rng.randint(0, 600))
        exchange = exchange_create(direction=direction, amount_give=amount,
                                   email=f"customer{n}@customer.example",
                                   account_get=EXAMPLES[direction.currency_get.account_format]
                                   or f"demo-account-{n}",
                                   user_hash=f"{rng.getrandbits(32):08x}",
                                   partner_id=partner.pk if partner else None)
        Exchange.objects.filter(pk=exchange.pk).update(created_at=created,
                                                       status_changed_at=created)
        exchange.status_changes.update(created_at=created)
        final = rng.choice([ExchangeStatus.SUCCESS] * 6 + [ExchangeStatus.PAID,
                           ExchangeStatus.CANCELLED, ExchangeStatus.ERROR, ExchangeStatus.NEW])
        # Paid as customers say it: with their transaction id.
        paid_txid = demo_txid(direction.currency_give, n)
        if final in (ExchangeStatus.SUCCESS, ExchangeStatus.ERROR):
            exchange_set_status(exchange_id=exchange.pk, status=ExchangeStatus.PAID,
                                actor="demo", txid=paid_txid)
        if final != ExchangeStatus.NEW:
            exchange_set_status(exchange_id=exchange.pk, status=final, actor="demo",
                                txid=paid_txid if final == ExchangeStatus.PAID else "")
        # History as it would have happened: each step some minutes after the last.
        for step, change in enumerate(exchange.status_changes.order_by("id")):
            moment = created + timedelta(minutes=17 * step)
            type(change).objects.filter(pk=change.pk).update(created_at=moment)
            Exchange.objects.filter(pk=exchange.pk).update(status_changed_at=moment)


# Each step is idempotent and builds on the ones before it: rewards credit the exchanges, which
# reference the partners and directions.
DEMO_STEPS: list[Callable[[], None]] = [
    load_currencies_and_directions,  # exchange: currencies and directions
    load_direction_fields,  # exchange: the fields some directions ask (API v1)
    load_market_rates,  # rates: sources and example formulas, all off (no network)
    load_users,  # the operator and the demo partners
    load_exchanges,  # exchange: past exchanges, a third referred
    load_clicks,  # partners: a month of clicks
    load_rewards,  # rewards: rules, payout methods, credited rewards and payouts
]


def load_demo() -> None:
    # Demo partners need no e-mail about the rewards and payouts the demo makes up: sent at
    # once, into memory, rather than queued for the worker.
    with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
                               "QUEUES": ["default"]}}):
        for step in DEMO_STEPS:
            with transaction.atomic():
                step()
    # The statistics as the worker would leave them, whether or not one runs after this (the
    # rows above were written with past times, after any rollup round).
    clicks_roll_up(settle=False)
    exchanges_roll_up(settle=False)
