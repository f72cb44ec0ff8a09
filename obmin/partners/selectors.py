"""Reads about partners that several places share: the code lookup of the /ref/ hot path, who
may earn, and the statistics of clicks and referred exchanges for the cabinet and the partner
API (so the two can never disagree).

Crawlers' clicks are kept for the operator but never appear in anything a partner sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from obmin.exchange.models import Exchange
from obmin.lib.memo import Memo
from obmin.lib.text import normalize_email
from obmin.lib.timeutil import day_start
from obmin.partners.models import CODE_PATTERN, Click, ClickDay, OldReferralCode, Partner

PARTNER_CODE = re.compile(CODE_PATTERN)  # the codes the admin lets an operator set
CODE_CACHE_SECONDS = 300
# Other worker processes see a block within this many seconds; the saving one at once.
CODE_MEMO_SECONDS = 2
_memo = Memo(CODE_MEMO_SECONDS)


@dataclass(frozen=True)
class CodeOwner:
    partner_id: int
    is_blocked: bool


def _code_key(code: str) -> str:
    return f"partners:code:{code.lower()}"


def partner_for_code(code: str) -> CodeOwner | None:
    """The owner of a referral code (any case), from the cache when it can; None if unknown.

    Saving a partner drops its entry (see `forget_partner_code`), so blocking takes effect on
    the next click in this process and within `CODE_MEMO_SECONDS` in the other workers.
    Unknown codes are only remembered for a moment, in this process's bounded memo, never in
    the shared cache: anyone can invent them.
    """
    if not PARTNER_CODE.fullmatch(code):
        return None
    key = _code_key(code)
    owner = _memo.get(key)
    if owner is not None:
        return owner or None  # False: known to be unknown, for a moment
    owner = cache.get(key)
    if isinstance(owner, CodeOwner):
        _memo.set(key, owner)
        return owner
    # Case-insensitive like every code check (`code_taken`); the partner table is small. A
    # code the partner had before it chose another still counts: one query for both.
    row = (Partner.objects.filter(Q(ref_code__iexact=code) | Q(old_codes__code__iexact=code))
           .values_list("pk", "is_blocked").first())
    if row is None:
        _memo.set(key, False)  # a mistyped link repeated by a monitor costs no query each time
        return None
    owner = CodeOwner(partner_id=row[0], is_blocked=row[1])
    cache.set(key, owner, CODE_CACHE_SECONDS)
    _memo.set(key, owner)
    return owner


def partner_old_codes(partner_id: int) -> list[str]:
    """The referral codes the partner had before, oldest first (still its own)."""
    return list(OldReferralCode.objects.filter(partner_id=partner_id)
                .values_list("code", flat=True))


def forget_partner_code(*codes: str) -> None:
    keys = [_code_key(code) for code in codes if code]

    def forget() -> None:
        cache.delete_many(keys)
        _memo.forget(*keys)

    forget()
    # Again after commit: a click in between could have cached the row being replaced.
    transaction.on_commit(forget)


def partner_may_earn(*, partner_id: int, customer_email: str,
                     logged_in_user_id: int | None = None) -> bool:
    """Whether an exchange of `customer_email` may be attributed to the partner and earn it a
    reward: never for a blocked or unknown partner, and never for the partner's own exchanges
    (its own e-mail, or made while logged in as the partner). Attribution and reward accrual
    both ask this.
    """
    row = (Partner.objects.filter(pk=partner_id)
           .values_list("is_blocked", "user_id", "user__email").first())
    if row is None:
        return False
    is_blocked, user_id, partner_email = row
    if is_blocked or (logged_in_user_id is not None and user_id == logged_in_user_id):
        return False
    return not partner_email or normalize_email(partner_email) != normalize_email(customer_email)


def partner_links(
    *, partner: Partner, start: datetime | None = None, end: datetime | None = None,
    ip: str | None = None,
) -> QuerySet[Click]:
    """The partner's clicks as `get_links` lists them: crawlers left out, oldest first.

    `start` and `end` are inclusive. Archived clicks survive only as daily totals.
    """
    clicks = Click.objects.filter(partner=partner, is_bot=False)
    if start is not None:
        clicks = clicks.filter(created_at__gte=start)
    if end is not None:
        clicks = clicks.filter(created_at__lte=end)
    if ip:
        clicks = clicks.filter(ip=ip)
    return clicks.order_by("created_at", "id")


def partner_click_stats(*, partner: Partner, start: date, end: date) -> list[dict[str, Any]]:
    """One entry per UTC day from `start` to `end` inclusive, oldest first:
    `{"day": date, "clicks": int, "unique_clicks": int}`; crawlers left out.

    Live clicks and archived daily totals are added, so archiving never changes a figure.
    """
    if end < start:
        return []
    days = {start + timedelta(days=n): {"clicks": 0, "unique_clicks": 0}
            for n in range((end - start).days + 1)}
    live = (Click.objects
            .filter(partner=partner, is_bot=False, created_at__gte=day_start(start),
                    created_at__lt=day_start(end + timedelta(days=1)))
            .annotate(day=TruncDate("created_at", tzinfo=UTC))
            .values("day")
            .annotate(clicks=Count("id"), unique_clicks=Count("id", filter=Q(is_unique=True)))
            .order_by())
    archived = (ClickDay.objects.filter(partner=partner, day__gte=start, day__lte=end)
                .values("day", "clicks", "unique_clicks"))
    for row in [*live, *archived]:
        totals = days[row["day"]]
        totals["clicks"] += row["clicks"]
        totals["unique_clicks"] += row["unique_clicks"]
    return [{"day": day, **totals} for day, totals in days.items()]


def partner_click_totals(*, partner: Partner, start: date, end: date) -> dict[str, int]:
    """`{"clicks": int, "unique_clicks": int}` over the UTC days `start`..`end` inclusive."""
    live = Click.objects.filter(
        partner=partner, is_bot=False, created_at__gte=day_start(start),
        created_at__lt=day_start(end + timedelta(days=1)),
    ).aggregate(clicks=Count("id"), unique_clicks=Count("id", filter=Q(is_unique=True)))
    archived = ClickDay.objects.filter(partner=partner, day__gte=start, day__lte=end).aggregate(
        clicks=Sum("clicks"), unique_clicks=Sum("unique_clicks"))
    return {name: (live[name] or 0) + (archived[name] or 0)
            for name in ("clicks", "unique_clicks")}


def partner_exchanges(partner: Partner) -> QuerySet[Exchange]:
    """The partner's referred exchanges, newest first, with their currencies."""
    return (Exchange.objects.filter(partner=partner)
            .select_related("currency_give", "currency_get").order_by("-created_at", "-id"))
