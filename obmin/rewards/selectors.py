"""Reads about rewards and payouts that the partner API, the cabinet and the admin share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from obmin.exchange.models import Exchange, ExchangeStatus
from obmin.lib.money import CENT, plain, quantize, quantize_down
from obmin.partners.models import Partner
from obmin.rewards.models import (
    EntryKind,
    LedgerEntry,
    OverrideKind,
    PartnerAccount,
    Payout,
    PayoutMethod,
    PayoutStatus,
    PayoutWallet,
    RewardBase,
    RewardHold,
    RewardLevel,
    RewardOverride,
    RewardProgram,
    RewardReview,
    Tier,
)
from obmin.rewards.risk import RULES

ZERO = Decimal(0)


@dataclass(frozen=True)
class PayoutMethodOffer:
    """A payout method as the partner sees it, with what its balance would pay out now."""

    id: int
    title: str
    commission_percent: Decimal
    amount: Decimal
    currency_code: str
    min_amount: Decimal


def partner_balance(partner: Partner) -> Decimal:
    """The partner's payable balance in USD: what a payout may take (kept in its account row;
    `partner_balances` has the pending part too)."""
    balance = (PartnerAccount.objects.filter(partner_id=partner.pk)
               .values_list("balance", flat=True).first())
    return balance if balance is not None else ZERO


def partners_owing() -> list[tuple[int, Decimal]]:
    """(partner id, payable balance) of every partner whose payable balance is below zero:
    rewards reversed after a payout took them. Later rewards fill it before a payout can be
    requested (a request needs the minimum)."""
    return list(PartnerAccount.objects.filter(balance__lt=0).order_by("partner_id")
                .values_list("partner_id", "balance"))


@dataclass(frozen=True)
class Balances:
    """A partner's money in USD: `payable` (what a payout may take; the API's `balance`),
    `pending` (rewards still in their holding period; `balance_pending`), and `second_tier`
    (its net second-tier rewards so far: shares of the rewards of partners it brought)."""

    payable: Decimal
    pending: Decimal
    second_tier: Decimal


def partner_balances(partner_id: int) -> Balances:
    """The partner's payable and pending balances (kept in its account row, sums of its
    ledger) and its second-tier earnings."""
    row = (PartnerAccount.objects.filter(partner_id=partner_id)
           .values_list("balance", "pending").first())
    second_tier = (LedgerEntry.objects.filter(partner_id=partner_id, tier=Tier.SECOND)
                   .aggregate(total=Sum("amount"))["total"])
    payable, pending = row if row is not None else (ZERO, ZERO)
    # Quantized: SQLite sums decimals as floats.
    return Balances(payable=payable, pending=pending,
                    second_tier=quantize(second_tier or ZERO, 2))


def second_tier_percent() -> Decimal | None:
    """The sponsor's share of a referred partner's rewards, in percent; None when the program
    has no second tier."""
    program = RewardProgram.load()
    return program.second_tier_percent if program.second_tier_enabled else None


def partner_pending_payouts(partner: Partner) -> tuple[int, Decimal]:
    """How many of the partner's payouts wait for the operator, and the USD they hold."""
    row = (Payout.objects.filter(partner_id=partner.pk, status=PayoutStatus.PENDING)
           .aggregate(total=Sum("original_amount"), count=Count("id")))
    # Quantized: SQLite sums decimals as floats.
    return row["count"], quantize(row["total"] or ZERO, 2)


def partner_total_paid(partner: Partner) -> Decimal:
    """What has been paid out to the partner, in USD (the API's `totalReceived`)."""
    total = (Payout.objects.filter(partner_id=partner.pk, status=PayoutStatus.PAID)
             .aggregate(total=Sum("original_amount"))["total"])
    # Quantized: SQLite sums decimals as floats.
    return quantize(total or ZERO, 2)


def partner_min_payout(partner: Partner) -> Decimal:
    """The smallest balance a payout may be asked for, in USD."""
    return RewardProgram.load().min_payout


def payout_amount(method: PayoutMethod, balance: Decimal) -> Decimal:
    """What `balance` USD pays out by `method`, after its commission, in its currency."""
    after_fee = balance * (Decimal(100) - method.commission_percent) / Decimal(100)
    return max(quantize_down(after_fee / method.usd_price, method.decimals), ZERO)


def payout_methods_active() -> QuerySet[PayoutMethod]:
    """The payout methods partners may choose now, in the operator's order."""
    return PayoutMethod.objects.filter(is_active=True).order_by("id")


def payout_methods_for(partner: Partner) -> list[PayoutMethodOffer]:
    balance = partner_balance(partner)
    return [
        PayoutMethodOffer(id=m.pk, title=m.title, commission_percent=m.commission_percent,
                          amount=payout_amount(m, balance), currency_code=m.currency_code,
                          min_amount=m.min_amount)
        for m in payout_methods_active()
    ]


def partner_payouts(
    partner: Partner, start: datetime | None = None, end: datetime | None = None
) -> QuerySet[Payout]:
    """The partner's payouts requested within [start, end] (both inclusive), by id."""
    payouts = Payout.objects.filter(partner_id=partner.pk).select_related("method")
    if start is not None:
        payouts = payouts.filter(created_at__gte=start)
    if end is not None:
        payouts = payouts.filter(created_at__lte=end)
    return payouts.order_by("id")


def partner_turnover(partner_id: int, *, exclude_exchange_id: int | None = None) -> Decimal:
    """USD given by customers in the partner's successful referred exchanges."""
    exchanges = Exchange.objects.filter(partner_id=partner_id, status=ExchangeStatus.SUCCESS)
    if exclude_exchange_id is not None:
        exchanges = exchanges.exclude(pk=exclude_exchange_id)
    total = exchanges.aggregate(total=Sum(ExpressionWrapper(
        F("amount_give") * F("usd_price_give"),
        output_field=DecimalField(max_digits=40, decimal_places=20))))["total"]
    return Decimal(total or 0)


def level_percent(turnover: Decimal) -> Decimal:
    """The percent of the highest level whose threshold `turnover` has reached (0: no level)."""
    level = (RewardLevel.objects.filter(min_turnover__lte=turnover)
             .order_by("-min_turnover").first())
    return level.percent if level else ZERO


def override_for(partner_id: int, direction_id: int) -> RewardOverride | None:
    """The most specific override: partner and direction, then partner, then direction."""
    candidates = RewardOverride.objects.filter(
        Q(partner_id=partner_id, direction_id=direction_id)
        | Q(partner_id=partner_id, direction__isnull=True)
        | Q(partner__isnull=True, direction_id=direction_id))

    def rank(override: RewardOverride) -> int:
        return (override.partner_id is not None) * 2 + (override.direction_id is not None)

    return max(candidates, key=rank, default=None)


@dataclass(frozen=True)
class RewardQuote:
    """What an exchange earns its partner, and which rule said so (for the ledger's note)."""

    amount: Decimal
    rule: str


def reward_quote(exchange: Exchange, *, program: RewardProgram | None = None) -> RewardQuote:
    """The reward the exchange's partner earns for it, in USD, before eligibility checks.

    Below one cent the reward is 0: such rewards are not credited.
    """
    program = program or RewardProgram.load()
    if exchange.partner_id is None:
        return RewardQuote(ZERO, "no partner")
    base = exchange.profit_usd if program.reward_base == RewardBase.PROFIT \
        else exchange.amount_give_usd
    override = override_for(exchange.partner_id, exchange.direction_id)
    if override is not None and override.kind == OverrideKind.NONE:
        return RewardQuote(ZERO, f"override #{override.pk}: none")
    if override is not None and override.kind == OverrideKind.FIXED:
        raw, rule = override.value, f"override #{override.pk}: fixed {plain(override.value)}"
    else:
        if override is not None:
            percent, rule = override.value, f"override #{override.pk}: {plain(override.value)}%"
        else:
            turnover = partner_turnover(exchange.partner_id, exclude_exchange_id=exchange.pk)
            percent = level_percent(turnover)
            rule = f"level {plain(percent)}% of {program.reward_base} at turnover " \
                   f"{plain(quantize_down(turnover, 2))}"
        raw = base * percent / Decimal(100)
    amount = quantize_down(raw, 2)
    return RewardQuote(amount if amount >= CENT else ZERO, rule)


def reward_states(credit_ids: list[int]) -> dict[int, str]:
    """Each credit's state in words, for the partner: approved (payable), pending until the
    end of its hold, in review (and by which rules), rejected (and why), or taken back."""
    credits = list(LedgerEntry.objects.filter(pk__in=credit_ids, kind=EntryKind.CREDIT)
                   .only("exchange_id", "tier", "sequence"))
    reviews = {r.pk: r for r in RewardReview.objects.filter(entry_id__in=credit_ids)}
    holds = {h.pk: h for h in RewardHold.objects.filter(entry_id__in=credit_ids)}
    undone = {(e.exchange_id, e.tier, e.sequence): e.kind for e in LedgerEntry.objects.filter(
        exchange_id__in={c.exchange_id for c in credits},
        kind__in=[EntryKind.REVERSAL, EntryKind.REJECTION]).only(
        "exchange_id", "tier", "sequence", "kind")}
    # A second-tier share follows its first-tier reward's review.
    first_credits = {(e.exchange_id, e.sequence): e.pk for e in LedgerEntry.objects.filter(
        exchange_id__in={c.exchange_id for c in credits}, tier=Tier.FIRST,
        kind=EntryKind.CREDIT).only("exchange_id", "sequence")}
    first_reviews = {r.pk: r for r in RewardReview.objects.filter(
        entry_id__in=first_credits.values())}
    states: dict[int, str] = {}
    for credit in credits:
        assert credit.sequence is not None
        review = reviews.get(credit.pk)
        if review is None and credit.tier == Tier.SECOND:
            # The first-tier credit made with it: the same exchange and step of the ledger.
            review = first_reviews.get(first_credits.get((credit.exchange_id, credit.sequence),
                                                         -1))
        undo = undone.get((credit.exchange_id, credit.tier, credit.sequence + 1))
        hold = holds.get(credit.pk)
        if undo == EntryKind.REJECTION:
            reason = review.reason if review is not None else ""
            states[credit.pk] = _("rejected: %(reason)s") % {"reason": reason} if reason \
                else str(_("rejected"))
        elif undo == EntryKind.REVERSAL:
            states[credit.pk] = str(_("taken back: the exchange did not stay successful"))
        elif hold is not None and hold.for_review:
            rules = "; ".join(dict.fromkeys(str(RULES.get(hit.get("rule", ""), ""))
                                            for hit in (review.evidence if review else [])))
            states[credit.pk] = (_("in review: %(rules)s") % {"rules": rules} if rules
                                 else str(_("in review")))
        elif hold is not None:
            states[credit.pk] = _("pending until %(date)s UTC") % {
                "date": hold.release_at.strftime("%Y-%m-%d %H:%M")}
        else:
            states[credit.pk] = str(_("approved"))
    return states


def partner_wallets(partner_id: int) -> QuerySet[PayoutWallet]:
    """The partner's saved payout wallets, one per method at most (`usable_from` says when
    each may be paid to)."""
    return (PayoutWallet.objects.filter(partner_id=partner_id, removed_at__isnull=True)
            .select_related("method").order_by("method_id"))
