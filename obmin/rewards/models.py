"""Reward rules, the append-only partner ledger, payout methods and payouts.

The ledger is the truth about money: a partner's balances are sums of its entries. Entries are
only ever inserted; `PartnerAccount.balance` (payable) and `.pending` (in the holding period) are
cached copies kept in the same transaction (and the row every money movement of a partner
locks), which `obmin ledger check` verifies.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NoReturn

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Mod
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from obmin.exchange.accounts import AccountFormat
from obmin.lib.models import SingletonModel
from obmin.lib.money import plain

# Ledger amounts are in the accounting currency, to the cent.
MONEY: dict[str, Any] = {"max_digits": 20, "decimal_places": 2}
PERCENT: dict[str, Any] = {"max_digits": 8, "decimal_places": 4,
           "validators": [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]}
PAYOUT_ACCOUNT_LENGTH = 200
# Exchanges carry prices in USD, so the program keeps its accounts in USD.
ACCOUNTING_CURRENCY = "USD"


class RewardBase(models.TextChoices):
    PROFIT = "profit", _("the exchanger's profit on the exchange")
    AMOUNT = "amount", _("the exchange amount")


class RewardProgram(SingletonModel):
    """The program's settings: one row (pk 1), edited by the operator in the admin."""

    reward_base = models.CharField(_("reward base"), max_length=16, choices=RewardBase.choices,
                                   default=RewardBase.PROFIT,
                                   help_text=_("What the level and override percentages "
                                               "are taken of, in USD at the exchange's prices."))
    min_payout = models.DecimalField(_("minimum payout, USD"), default=Decimal(10),
                                     validators=[MinValueValidator(Decimal("0.01"))], **MONEY)
    hold_days = models.PositiveSmallIntegerField(
        _("holding period, days"), default=0, validators=[MaxValueValidator(365)],
        help_text=_("A credited reward is pending this long, then payable; a reversal within "
                    "it takes the reward back before it was ever payable. 0: payable at once. "
                    "A change applies to rewards credited after it."))
    second_tier_enabled = models.BooleanField(
        _("second tier"), default=False,
        help_text=_("A partner who signed up through another partner's link earns that "
                    "partner a share of its own rewards (one level only)."))
    second_tier_percent = models.DecimalField(
        _("second-tier share, %"), default=Decimal(5),
        help_text=_("Percent of the referred partner's reward credited to its sponsor."),
        **PERCENT)
    four_eyes_amount = models.DecimalField(
        _("second approval from, USD"), default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("A payout holding at least this much needs a second staff member's approval "
                    "before it can be marked paid. 0: never."), **MONEY)
    wallet_cooling_hours = models.PositiveIntegerField(
        _("new wallet usable after, hours"), default=24, validators=[MaxValueValidator(24 * 30)],
        help_text=_("A payout wallet the partner adds or changes can be paid to only after "
                    "this long; the partner is e-mailed at once (a stolen session cannot "
                    "redirect money at once)."))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("reward program")
        verbose_name_plural = _("reward program")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="reward_program_singleton")]

    def __str__(self) -> str:
        return str(_("Reward program settings"))



class RewardLevel(models.Model):
    """From `min_turnover` USD of referred successful exchanges on, rewards are `percent`."""

    min_turnover = models.DecimalField(_("from turnover, USD"), unique=True,
                                       validators=[MinValueValidator(Decimal(0))], **MONEY)
    percent = models.DecimalField(_("reward, %"), **PERCENT)

    class Meta:
        ordering = ["min_turnover"]
        verbose_name = _("reward level")
        verbose_name_plural = _("reward levels")

    def __str__(self) -> str:
        return f"≥ {self.min_turnover} USD: {self.percent}%"


class OverrideKind(models.TextChoices):
    PERCENT = "percent", _("own percent")
    FIXED = "fixed", _("fixed sum, USD")
    NONE = "none", _("no reward")


class RewardOverride(models.Model):
    """A rule that replaces the levels for one partner, one direction, or one partner's direction.

    Precedence, most specific first: partner and direction, partner, direction, then the levels.
    """

    partner = models.ForeignKey("partners.Partner", models.CASCADE, null=True, blank=True,
                                related_name="reward_overrides", verbose_name=_("partner"))
    direction = models.ForeignKey("exchange.Direction", models.CASCADE, null=True, blank=True,
                                  related_name="reward_overrides", verbose_name=_("direction"))
    kind = models.CharField(_("rule"), max_length=16, choices=OverrideKind.choices)
    value = models.DecimalField(_("percent or sum"), default=Decimal(0),
                                validators=[MinValueValidator(Decimal(0))],
                                help_text=_("Percent of the base, or a fixed sum in USD; "
                                            "ignored for “no reward”."),
                                max_digits=20, decimal_places=4)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("reward override")
        verbose_name_plural = _("reward overrides")
        constraints = [
            models.CheckConstraint(condition=Q(partner__isnull=False) | Q(direction__isnull=False),
                                   name="reward_override_has_target"),
            models.UniqueConstraint(fields=["partner", "direction"],
                                    name="reward_override_unique_pair"),
            models.UniqueConstraint(fields=["partner"], condition=Q(direction__isnull=True),
                                    name="reward_override_unique_partner"),
            models.UniqueConstraint(fields=["direction"], condition=Q(partner__isnull=True),
                                    name="reward_override_unique_direction"),
        ]

    def __str__(self) -> str:
        return f"{self.partner or '*'} / {self.direction or '*'}: {self.get_kind_display()}"


class PartnerAccount(models.Model):
    """One row per partner: the lock every money movement takes, and the cached balance."""

    partner = models.OneToOneField("partners.Partner", models.PROTECT, primary_key=True,
                                   related_name="reward_account", verbose_name=_("partner"))
    # Payable: what a payout may take. Pending: rewards still in their holding period.
    balance = models.DecimalField(_("balance, USD"), default=Decimal(0), **MONEY)
    pending = models.DecimalField(_("pending, USD"), default=Decimal(0), **MONEY)

    class Meta:
        verbose_name = _("partner balance")
        verbose_name_plural = _("partner balances")

    def __str__(self) -> str:
        return f"{self.partner_id}: {self.balance} {ACCOUNTING_CURRENCY}"


class PayoutMethod(models.Model):
    """A way the operator pays partners: USDT TRC20, Perfect Money, a bank card..."""

    title = models.CharField(_("title"), max_length=100)
    commission_percent = models.DecimalField(_("commission, %"), default=Decimal(0), **PERCENT)
    min_amount = models.DecimalField(_("minimum, USD"), default=Decimal(0),
                                     validators=[MinValueValidator(Decimal(0))],
                                     help_text=_("Besides the program's minimum payout."),
                                     **MONEY)
    currency_code = models.CharField(_("currency"), max_length=20, default="USD",
                                     help_text=_("What the partner receives, e.g. USD, USDT."))
    # One unit of the payout currency in USD: 1 for USD and USDT, about 0.024 for UAH.
    usd_price = models.DecimalField(_("price of one unit in USD"), default=Decimal(1),
                                    max_digits=30, decimal_places=10,
                                    validators=[MinValueValidator(Decimal("0.0000000001"))])
    decimals = models.PositiveSmallIntegerField(_("decimals"), default=2)
    # The same checks as exchanges' receiving accounts (checksums where the format has one).
    account_format = models.CharField(_("account format"), max_length=16,
                                      choices=AccountFormat.choices, default=AccountFormat.ANY)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("payout method")
        verbose_name_plural = _("payout methods")

    def __str__(self) -> str:
        return self.title


class PayoutStatus(models.IntegerChoices):
    # Numbers are the API's `status` values.
    PENDING = 0, _("pending")
    PAID = 1, pgettext_lazy("payout", "paid")  # not an exchange's "paid": Ukrainian differs
    REFUSED = 2, _("refused")
    CANCELLED = 3, _("cancelled by the partner")


class Payout(models.Model):
    """A partner's request to be paid its whole balance; the balance is held at once."""

    partner = models.ForeignKey("partners.Partner", models.PROTECT, related_name="payouts",
                                verbose_name=_("partner"))
    created_at = models.DateTimeField(_("requested"), default=timezone.now, db_index=True)
    method = models.ForeignKey(PayoutMethod, models.PROTECT, related_name="payouts",
                               verbose_name=_("method"))
    account = models.CharField(_("account"), max_length=PAYOUT_ACCOUNT_LENGTH)
    # What is paid, after the method's commission, in the method's currency.
    amount = models.DecimalField(_("amount to pay"), max_digits=30, decimal_places=10)
    currency_code = models.CharField(_("currency"), max_length=20)
    # The balance held, in the accounting currency.
    original_amount = models.DecimalField(_("balance held"), **MONEY)
    original_currency_code = models.CharField(_("original currency code"), max_length=8,
                                              default=ACCOUNTING_CURRENCY)
    status = models.IntegerField(_("status"), choices=PayoutStatus.choices,
                                 default=PayoutStatus.PENDING, db_index=True)
    status_changed_at = models.DateTimeField(_("status changed"), default=timezone.now)
    actor = models.CharField(_("last changed by"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    # Set when the operator marks it paid; both are shown to the partner.
    transaction_id = models.CharField(_("transaction id"), max_length=200, blank=True)
    paid_note = models.CharField(_("note on payment"), max_length=255, blank=True)
    # Four eyes: above the program's amount one staff member approves, another marks it paid.
    approved_by = models.CharField(_("approved by"), max_length=100, blank=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        indexes = [models.Index(fields=["partner", "created_at"], name="payout_partner_time")]
        constraints = [
            models.CheckConstraint(condition=Q(original_amount__gt=0),
                                   name="payout_original_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {plain(self.amount)} {self.currency_code} ({self.get_status_display()})"


class PayoutWallet(models.Model):
    """A partner's saved account for one payout method: payouts go only to these. A new or
    changed one becomes usable after the program's cooling-off period; a change keeps the old
    row (removed) and adds a new one, so the history stays."""

    partner = models.ForeignKey("partners.Partner", models.PROTECT, related_name="payout_wallets",
                                verbose_name=_("partner"))
    method = models.ForeignKey(PayoutMethod, models.PROTECT, related_name="wallets",
                               verbose_name=_("method"))
    account = models.CharField(_("account"), max_length=PAYOUT_ACCOUNT_LENGTH)
    created_at = models.DateTimeField(_("saved"), default=timezone.now)
    usable_from = models.DateTimeField(_("usable from"))
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("payout wallet")
        verbose_name_plural = _("payout wallets")
        constraints = [models.UniqueConstraint(fields=["partner", "method"],
                                               condition=Q(removed_at__isnull=True),
                                               name="payout_wallet_one_per_method")]
        indexes = [models.Index(fields=["account"], name="payout_wallet_account")]

    def __str__(self) -> str:
        return f"{self.method_id}: {self.account}"


class EntryKind(models.TextChoices):
    CREDIT = "credit", _("reward")
    REVERSAL = "reversal", _("reward taken back")
    PAYOUT_HOLD = "payout_hold", _("payout requested")
    PAYOUT_RELEASE = "payout_release", _("payout refused or cancelled")
    # Zero amount: the hold already took the money; this entry records that it left for good.
    PAYOUT_PAID = "payout_paid", _("payout paid")
    # Zero amount: a pending credit's holding period ended; it moves from pending to payable.
    RELEASE = "release", _("reward released from hold")
    # The operator's decision that the reward is not owed: it undoes the credit like a
    # reversal, and is final (the exchange earns nothing more). After a payout took the
    # money it leaves the payable balance below zero: a debt later rewards repay.
    REJECTION = "rejection", _("reward rejected")


class Tier(models.IntegerChoices):
    FIRST = 1, _("own reward")
    # The sponsor's share of a reward of a partner it brought (one level only).
    SECOND = 2, _("second tier")


class LedgerImmutable(Exception):
    """Raised on any attempt to change or remove a ledger entry through the ORM."""


class LedgerQuerySet(models.QuerySet["LedgerEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise LedgerImmutable("Ledger entries are never updated; post a new entry.")

    def delete(self) -> NoReturn:
        raise LedgerImmutable("Ledger entries are never deleted; post a new entry.")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise LedgerImmutable("Ledger entries are never updated; post a new entry.")


A = EntryKind


class LedgerEntry(models.Model):
    """One movement of a partner's money. Inserted once, never changed or removed.

    `amount` moves the partner's total (payable + pending); `pending_change` is the part of it
    that moves the pending balance, so payable is the sum of `amount - pending_change`. A credit
    made during a holding period is wholly pending (`pending_change` = `amount`); its `release`
    entry (amount 0, `pending_change` = -amount) moves it to payable; a reversal takes it from
    wherever it is then.

    A reward's entries for one exchange and tier (1: the referring partner, 2: its sponsor) are
    numbered 1, 2, 3...: credits odd, reversals even, unique per exchange and tier. So two
    concurrent accruals of one exchange cannot both insert credit 1, and a second credit can
    only follow a reversal: at any moment an exchange has one net credit per tier or none,
    whatever the code above does. A release carries its credit's number and is unique too, so
    a credit is released at most once.
    """

    partner = models.ForeignKey("partners.Partner", models.PROTECT, related_name="ledger_entries",
                                verbose_name=_("partner"))
    amount = models.DecimalField(_("amount, USD"), **MONEY)
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    exchange = models.ForeignKey("exchange.Exchange", models.PROTECT, null=True, blank=True,
                                 related_name="ledger_entries", verbose_name=_("exchange"))
    sequence = models.PositiveIntegerField(_("accrual number"), null=True, blank=True)
    tier = models.PositiveSmallIntegerField(_("tier"), choices=Tier.choices, default=Tier.FIRST)
    pending_change = models.DecimalField(_("of it pending, USD"), default=Decimal(0), **MONEY)
    payout = models.ForeignKey(Payout, models.PROTECT, null=True, blank=True,
                               related_name="ledger_entries", verbose_name=_("payout"))
    note = models.CharField(_("note"), max_length=255, blank=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        indexes = [models.Index(fields=["partner", "id"], name="ledger_partner_id")]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "tier", "sequence"],
                                    condition=Q(kind__in=[A.CREDIT, A.REVERSAL, A.REJECTION]),
                                    name="ledger_one_entry_per_accrual_step"),
            models.UniqueConstraint(fields=["exchange", "tier", "sequence"],
                                    condition=Q(kind=A.RELEASE),
                                    name="ledger_one_release_per_credit"),
            models.UniqueConstraint(fields=["payout", "kind"], name="ledger_one_hold_one_release"),
            # Each kind has its source and its sign; accrual steps alternate credit/reversal.
            models.CheckConstraint(
                name="ledger_kind_source_sign",
                condition=(
                    Q(kind=A.CREDIT, amount__gt=0, exchange__isnull=False, payout__isnull=True,
                      sequence__isnull=False)
                    | Q(kind__in=[A.REVERSAL, A.REJECTION], amount__lt=0,
                        exchange__isnull=False, payout__isnull=True, sequence__isnull=False)
                    | Q(kind=A.RELEASE, amount=0, pending_change__lt=0, exchange__isnull=False,
                        payout__isnull=True, sequence__isnull=False)
                    | Q(kind=A.PAYOUT_HOLD, amount__lt=0, payout__isnull=False,
                        exchange__isnull=True, sequence__isnull=True, tier=Tier.FIRST)
                    | Q(kind=A.PAYOUT_RELEASE, amount__gt=0, payout__isnull=False,
                        exchange__isnull=True, sequence__isnull=True, tier=Tier.FIRST)
                    | Q(kind=A.PAYOUT_PAID, amount=0, payout__isnull=False,
                        exchange__isnull=True, sequence__isnull=True, tier=Tier.FIRST)
                ),
            ),
            models.CheckConstraint(
                name="ledger_credit_odd_reversal_even",
                condition=Q(sequence__isnull=True)
                | Q(Exact(Mod("sequence", 2), 1), kind__in=[A.CREDIT, A.RELEASE])
                | Q(Exact(Mod("sequence", 2), 0), kind__in=[A.REVERSAL, A.REJECTION]),
            ),
            # A credit or reversal is wholly pending or wholly payable; payouts touch only
            # the payable balance.
            models.CheckConstraint(
                name="ledger_pending_change",
                condition=Q(kind=A.RELEASE) | Q(pending_change=0)
                | Q(kind__in=[A.CREDIT, A.REVERSAL, A.REJECTION], pending_change=F("amount")),
            ),
            models.CheckConstraint(name="ledger_tier", condition=Q(tier__in=[1, 2])),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {ACCOUNTING_CURRENCY}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise LedgerImmutable("Ledger entries are never updated; post a new entry.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise LedgerImmutable("Ledger entries are never deleted; post a new entry.")


class RewardHold(models.Model):
    """A pending credit waiting for its holding period to end: the worker's queue.

    Created with the credit, deleted by its release or its reversal, in the same transaction.
    The ledger stays the truth (the release's unique number makes it happen once); this row
    only spares the worker a scan of every credit ever made. `obmin ledger check` compares the
    two.
    """

    entry = models.OneToOneField(LedgerEntry, models.PROTECT, primary_key=True,
                                 related_name="hold", verbose_name=_("credit"))
    partner = models.ForeignKey("partners.Partner", models.PROTECT, related_name="reward_holds",
                                verbose_name=_("partner"))
    release_at = models.DateTimeField(_("payable from"), db_index=True)
    # Held by a risk rule: the worker leaves it for the operator's decision (`RewardReview`).
    for_review = models.BooleanField(_("waits for review"), default=False)

    class Meta:
        ordering = ["release_at"]
        verbose_name = _("reward on hold")
        verbose_name_plural = _("rewards on hold")

    def __str__(self) -> str:
        return f"{self.entry_id} until {self.release_at:%Y-%m-%d %H:%M}"


class ReviewState(models.TextChoices):
    REVIEW = "review", _("in review")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    # The exchange left success before the operator decided: the reversal took it back.
    REVERSED = "reversed", _("taken back")


class RewardReview(models.Model):
    """The operator's review of one reward (a first-tier credit; its second-tier share
    follows it): opened by a risk rule with its evidence, or by a rejection. The money moves
    only through the ledger; this row keeps the state, the evidence and the decision."""

    entry = models.OneToOneField(LedgerEntry, models.PROTECT, primary_key=True,
                                 related_name="review", verbose_name=_("credit"))
    partner = models.ForeignKey("partners.Partner", models.PROTECT,
                                related_name="reward_reviews", verbose_name=_("partner"))
    exchange = models.ForeignKey("exchange.Exchange", models.PROTECT,
                                 related_name="reward_reviews", verbose_name=_("exchange"))
    state = models.CharField(_("state"), max_length=16, choices=ReviewState.choices,
                             default=ReviewState.REVIEW, db_index=True)
    # What the risk rules found: [{"rule": name, "text": in words, ...details}].
    evidence = models.JSONField(_("evidence"), default=list, blank=True)
    created_at = models.DateTimeField(_("held"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.CharField(_("decided by"), max_length=200, blank=True)
    # Told to the partner.
    reason = models.CharField(_("reason"), max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("reward review")
        verbose_name_plural = _("reward reviews")

    def __str__(self) -> str:
        return f"#{self.entry_id} ({self.get_state_display()})"


# A few of the best-known throwaway mailbox services; the operator adds more in the settings.
DISPOSABLE_DOMAINS = ("10minutemail.com", "33mail.com", "dispostable.com", "emailondeck.com",
                      "fakeinbox.com", "getnada.com", "guerrillamail.com", "maildrop.cc",
                      "mailinator.com", "mailnesia.com", "mintemail.com", "mohmal.com",
                      "sharklasers.com", "temp-mail.org", "tempmail.com", "tempr.email",
                      "throwawaymail.com", "trashmail.com", "yopmail.com")


class RiskSettings(SingletonModel):
    """The risk rules the operator tunes: each holds a reward for review, none deletes one."""

    self_referral = models.BooleanField(
        _("customer looks like the partner"), default=True,
        help_text=_("The customer's e-mail is the partner's in another form (a +tag, dots), "
                    "or the customer's network or device is one the partner signed in from."))
    disposable_email = models.BooleanField(
        _("partner's e-mail is disposable"), default=True,
        help_text=_("The partner's e-mail domain is a throwaway mailbox service."))
    disposable_domains = models.TextField(
        _("more disposable domains"), blank=True,
        help_text=_("One domain per line, besides the built-in list."))
    shared_wallet = models.BooleanField(
        _("payout account shared with other partners"), default=True,
        help_text=_("An account the partner was paid to, or asked to be, also serves another "
                    "partner."))
    outlier = models.BooleanField(
        _("conversion or turnover far from the norm"), default=True,
        help_text=_("The partner's exchanges per click, or its turnover, over the window are "
                    "this many times the program's."))
    outlier_factor = models.DecimalField(_("how many times the norm"), default=Decimal(5),
                                         max_digits=8, decimal_places=2,
                                         validators=[MinValueValidator(Decimal(1))])
    outlier_min_exchanges = models.PositiveIntegerField(
        _("fewest exchanges to judge"), default=5,
        help_text=_("Below this many successful exchanges in the window the rule stays quiet."))
    window_days = models.PositiveSmallIntegerField(
        _("window, days"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)])
    one_network = models.BooleanField(
        _("clicks from one network"), default=True,
        help_text=_("Most of the partner's clicks over the window come from one network "
                    "(IPv4 /24, IPv6 /48)."))
    one_network_percent = models.DecimalField(_("share of clicks from one network, %"),
                                              default=Decimal(80), **PERCENT)
    one_network_min_clicks = models.PositiveIntegerField(_("fewest clicks to judge"),
                                                         default=20)
    banned_referrers = models.TextField(
        _("banned referrers"), blank=True,
        help_text=_("One host per line (its subdomains too): a customer whose clicks came from "
                    "one of them holds the reward."))
    chain_loop = models.BooleanField(
        _("second-tier chain loops back"), default=True,
        help_text=_("Following who referred whom from the partner comes back to a partner "
                    "already in the chain."))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("risk rules")
        verbose_name_plural = _("risk rules")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="risk_settings_singleton")]

    def __str__(self) -> str:
        return str(_("Risk rules"))
