"""Reads of the exchanger that several places share (the exchange page, the home page)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate

from obmin.exchange.models import Direction, Exchange, ExchangeStatus


def active_directions() -> list[Direction]:
    return list(
        Direction.objects.active().select_related("currency_give", "currency_get")
        .order_by("currency_give__code", "currency_get__code", "city")
    )


def find_direction(cur_from: str, cur_to: str, city: str = "") -> Direction | None:
    """The active direction between two codes (case-insensitive), or None."""
    queryset = Direction.objects.active().select_related("currency_give", "currency_get").filter(
        currency_give__code=cur_from.upper(), currency_get__code=cur_to.upper())
    if city:
        queryset = queryset.filter(city=city.upper())
    return queryset.order_by("city").first()


def partner_exchange_daily(*, partner_id: int, start: datetime, end: datetime) -> list[dict]:
    """Per UTC day: referred exchanges, successful ones, their turnover in USD, rewards."""
    rows = (
        Exchange.objects.filter(partner_id=partner_id, created_at__gte=start, created_at__lte=end)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(
            exchanges=Count("id"),
            successful=Count("id", filter=Q(status=ExchangeStatus.SUCCESS)),
            turnover_usd=Sum(F("amount_give") * F("usd_price_give"),
                             filter=Q(status=ExchangeStatus.SUCCESS)),
            rewards=Sum("partner_reward", filter=Q(reward_accrued=True)),
        )
        .order_by("day")
    )
    zero = Decimal(0)
    return [{**row, "turnover_usd": row["turnover_usd"] or zero, "rewards": row["rewards"] or zero}
            for row in rows]
