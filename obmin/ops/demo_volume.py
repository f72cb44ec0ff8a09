"""`obmin demo --no-serve --clicks N`: a year of generated traffic for the demo partners, to try
the reports at scale: N clicks over the last 365 days (sub-IDs, UTM tags, countries, browsers,
referrers, a few crawlers) and about N/20 referred exchanges, most of them successful with their
reward credited on the ledger (so `obmin ledger check` agrees). Rows are written in bulk (COPY on
PostgreSQL), then the statistics rollups are brought up to date (the database triggers marked
every hour the new exchanges landed in, however far back: `obmin.stats.triggers`).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from obmin.exchange.models import Direction, Exchange, ExchangeStatus
from obmin.partners.models import Click, Partner
from obmin.rewards.models import EntryKind, LedgerEntry, PartnerAccount
from obmin.stats.services import clicks_roll_up, exchanges_roll_up

CODES = ("alice001", "bob00002")
BROWSERS = ["Chrome 124", "Chrome Mobile 124", "Mobile Safari 17", "Firefox 126", "Edge 124",
            "Yandex Browser 24", "Opera 110", "Unknown"]
REFERRERS = ["https://www.bestchange.com/", "https://www.bestchange.ru/btc-to-usdt.html",
             "https://exchangesumo.com/", "https://kurs.expert/", "https://t.me/", "",
             "https://www.google.com/", "https://okchanger.com/"]
COUNTRIES = ["UA", "UA", "UA", "PL", "DE", "KZ", "US", "GB", "TR", ""]
SUBS = ["", "", "tg", "yt", "fb", "blog", "mail"]
CAMPAIGNS = ["", "", "spring", "summer", "black-friday"]
SOURCES = ["", "", "bestchange", "telegram", "youtube"]
BATCH = 50_000


def _clicks(rng: random.Random, partner_ids: list[int], count: int) -> Iterator[dict[str, Any]]:
    now = timezone.now()
    for n in range(count):
        moment = now - timedelta(seconds=rng.randrange(365 * 86400))
        bot = rng.random() < 0.04
        yield {"uid": uuid.uuid4(), "partner_id": partner_ids[n % len(partner_ids)],
               "created_at": moment, "browser": "Googlebot 2" if bot else rng.choice(BROWSERS),
               "ip": f"{rng.choice([31, 46, 77, 91, 176, 185])}.{rng.randrange(256)}."
                     f"{rng.randrange(256)}.0",
               "referrer": rng.choice(REFERRERS), "user_hash": f"{rng.getrandbits(40):010x}",
               "query_string": "cur_from=PMUSD&cur_to=BTC", "is_bot": bot,
               "is_unique": not bot and rng.random() < 0.7, "user_agent": "generated",
               "sub1": rng.choice(SUBS), "sub2": rng.choice(["", "", "a", "b"]),
               "utm_source": rng.choice(SOURCES), "utm_medium": rng.choice(["", "cpc", "post"]),
               "utm_campaign": rng.choice(CAMPAIGNS), "country": rng.choice(COUNTRIES)}


def _insert(model: Any, rows: list[dict[str, Any]]) -> None:
    """Many rows at once: COPY on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    fields = {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}
    names = list(rows[0])
    # The model's defaults for the fields the rows leave out.
    fixed = {name: f.get_default() for name, f in fields.items() if name not in rows[0]}
    rows = [{**row, **fixed} for row in rows] if fixed else rows
    names += list(fixed)
    columns = ", ".join(f'"{fields[n].column}"' for n in names)
    table = model._meta.db_table
    values = [tuple(fields[n].get_db_prep_save(row[n], connection) for n in names)
              for row in rows]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
                for value in values:
                    copy.write_row(value)
        else:
            marks = ", ".join(["%s"] * len(names))
            cursor.executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})',  # noqa: S608
                               values)


def generate(clicks: int, *, seed: int = 7) -> tuple[int, int]:
    """Adds `clicks` clicks and about clicks/20 exchanges; returns both counts."""
    partners = list(Partner.objects.filter(ref_code__in=CODES).order_by("id"))
    directions = list(Direction.objects.select_related("currency_give", "currency_get")
                      .order_by("id")[:6])
    if not partners or not directions:
        raise ValueError("load the demo data first")
    rng = random.Random(seed + Click.objects.count())
    partner_ids = [p.pk for p in partners]
    stream = _clicks(rng, partner_ids, clicks)
    while True:
        with transaction.atomic():
            batch = [row for _n, row in zip(range(BATCH), stream, strict=False)]
            _insert(Click, batch)
        if len(batch) < BATCH:
            break
    exchanges = _exchanges(rng, partner_ids, directions, clicks // 20)
    # Nothing else writes meanwhile: every new id and every hour the rows marked stale, now.
    clicks_roll_up(settle=False)
    exchanges_roll_up(settle=False)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
    return clicks, exchanges


def _exchanges(rng: random.Random, partner_ids: list[int], directions: list[Direction],
               count: int) -> int:
    now = timezone.now()
    rows = []
    for n in range(count):
        direction = directions[n % len(directions)]
        moment = now - timedelta(seconds=rng.randrange(365 * 86400))
        # Settled 20 minutes later, or by now: never in the future.
        settled = min(moment + timedelta(minutes=20), now)
        give = Decimal(rng.randint(2000, 200000)) / 100
        roll = rng.random()
        status = (ExchangeStatus.SUCCESS if roll < 0.7 else ExchangeStatus.CANCELLED
                  if roll < 0.9 else ExchangeStatus.NEW)
        price = direction.currency_give.usd_price or Decimal(1)
        reward = (give * price * Decimal("0.004")).quantize(Decimal("0.01")) \
            if status == ExchangeStatus.SUCCESS else Decimal(0)
        rows.append({
            "token": f"gen-{uuid.uuid4().hex}", "direction_id": direction.pk,
            "currency_give_id": direction.currency_give_id,
            "currency_get_id": direction.currency_get_id, "rate_give": direction.rate_give,
            "rate_get": direction.rate_get, "amount_give": give,
            "amount_get": (give * direction.rate_get / direction.rate_give).quantize(
                Decimal("0.00000001")),
            "usd_price_give": price, "usd_price_get": direction.currency_get.usd_price,
            "profit_percent": Decimal(2), "email": f"gen{n}@customer.example",
            "account_get": "generated", "user_hash": f"{rng.getrandbits(40):010x}",
            "partner_id": partner_ids[n % len(partner_ids)], "status": status,
            "partner_reward": reward, "reward_accrued": reward > 0, "created_at": moment,
            "status_changed_at": settled, "updated_at": settled, "sub1": rng.choice(SUBS),
            "utm_source": rng.choice(SOURCES), "country": rng.choice(COUNTRIES)})
    with transaction.atomic():
        for first in range(0, len(rows), BATCH):
            _insert(Exchange, rows[first:first + BATCH])
        # Each credited reward on the ledger, as reward accrual would have posted it.
        credited = Exchange.objects.filter(token__startswith="gen-", reward_accrued=True,
                                           ledger_entries__isnull=True)
        LedgerEntry.objects.bulk_create(
            (LedgerEntry(partner_id=partner_id, amount=amount, kind=EntryKind.CREDIT,
                         created_at=settled, exchange_id=exchange_id, sequence=1,
                         note="generated")
             for exchange_id, partner_id, amount, settled in credited.values_list(
                 "id", "partner_id", "partner_reward", "status_changed_at").iterator()),
            batch_size=5000)
        for partner_id in partner_ids:
            total = LedgerEntry.objects.filter(partner_id=partner_id).aggregate(
                total=Sum("amount"))["total"] or Decimal(0)
            account, _created = PartnerAccount.objects.get_or_create(partner_id=partner_id)
            # Quantized: SQLite sums decimals as floats.
            PartnerAccount.objects.filter(pk=account.pk).update(
                balance=Decimal(total).quantize(Decimal("0.01")))
    return count
