"""Currencies, exchange directions with their rates, and customers' exchanges (orders)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from obmin.exchange.accounts import AccountFormat
from obmin.lib.models import TrafficSource
from obmin.lib.money import plain, quantize

# Typed as Any so field keyword unpacking type-checks.
AMOUNT: dict[str, Any] = {"max_digits": 30, "decimal_places": 10}
# A monitoring currency code (BestChange's `PMUSD`, `USDTTRC20`).
CURRENCY_CODE_PATTERN = r"[A-Z0-9]{2,20}"
code_validator = RegexValidator(
    rf"\A{CURRENCY_CODE_PATTERN}\Z",
    _("Upper-case letters and digits, as monitoring sites write codes."))


def normalize_currency_code(value: str | None) -> str:
    """A currency code as it arrives (URL, form, rate file) in the case monitors write it."""
    return (value or "").strip().upper()

# Monitoring flags a direction may carry (BestChange `param`).
DIRECTION_FLAGS = (
    "manual",
    "juridical",
    "verifying",
    "cardverify",
    "floating",
    "otherin",
    "otherout",
    "reg",
    "card2card",
    "delivery",
    "hold",
)


def validate_flags(value: str) -> None:
    unknown = [flag for flag in parse_flags(value) if flag not in DIRECTION_FLAGS]
    if unknown:
        raise ValidationError(
            _("Unknown flag(s): %(flags)s. Known: %(known)s."),
            params={"flags": ", ".join(unknown), "known": ", ".join(DIRECTION_FLAGS)},
        )


def validate_explorer_url(value: str) -> None:
    if value and not (value.startswith(("https://", "http://")) and "{txid}" in value):
        raise ValidationError(_("An http(s) address with {txid} where the transaction id goes."))


def parse_flags(value: str) -> list[str]:
    return [flag.strip().lower() for flag in value.split(",") if flag.strip()]


# Premium Exchanger's names of a direction's fields: `account1` (the paying account),
# `account2` (the receiving account), `cfgiveN` / `cfgetN` (per currency), `cfN` (per direction).
FIELD_NAME_PATTERN = r"account1|account2|cfgive[1-9][0-9]?|cfget[1-9][0-9]?|cf[1-9][0-9]?"
field_name_validator = RegexValidator(
    rf"\A(?:{FIELD_NAME_PATTERN})\Z",
    _("account1, account2, cfgive1 … cfgive99, cfget1 … cfget99 or cf1 … cf99."))
email_field_validator = RegexValidator(r"\Acf[1-9][0-9]?\Z", _("cf1 … cf99."))


class Currency(models.Model):
    code = models.CharField(_("monitoring code"), max_length=20, unique=True,
                            validators=[code_validator])
    title = models.CharField(_("title"), max_length=100)
    decimals = models.PositiveSmallIntegerField(_("decimals"), default=2)
    reserve = models.DecimalField(_("reserve"), default=Decimal(0), **AMOUNT)
    # What one unit is worth in the accounting currency (USD), for rewards and statistics.
    usd_price = models.DecimalField(_("price in USD"), default=Decimal(0),
                                    validators=[MinValueValidator(Decimal(0))], **AMOUNT)
    is_active = models.BooleanField(_("active"), default=True)
    account_format = models.CharField(
        _("customer's account format"), max_length=20, choices=AccountFormat.choices,
        default=AccountFormat.ANY,
        help_text=_("What the account a customer receives this currency to must look like; "
                    "checksums are checked where the format has one."))
    # Where customers pay us this currency; a direction may override each of these.
    pay_to = models.CharField(_("pay to (our account or address)"), max_length=200, blank=True)
    pay_memo = models.CharField(_("memo / tag"), max_length=100, blank=True,
                                help_text=_("Only where the network needs one (TON, XRP, ...)."))
    pay_instructions = models.TextField(_("payment instructions (English)"), blank=True)
    pay_instructions_uk = models.TextField(_("payment instructions (Ukrainian)"), blank=True)
    pay_minutes = models.PositiveIntegerField(
        _("time to pay, minutes"), default=60,
        help_text=_("A new exchange not paid within this time is cancelled. 0: no limit."))
    # The operator's desk links a customer's transaction id here: `{txid}` is replaced by it.
    explorer_url = models.CharField(
        _("block explorer URL"), max_length=200, blank=True, validators=[validate_explorer_url],
        help_text=_("For crypto: a transaction's page, with {txid} where its id goes, e.g. "
                    "https://mempool.space/tx/{txid}"))
    # The operator is alerted once when the reserve falls under this (0: never), and again
    # only after it has been above it since.
    reserve_alert_below = models.DecimalField(
        _("alert when the reserve falls under"), default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))], **AMOUNT, help_text=_("0: no alert."))
    reserve_alerted_at = models.DateTimeField(_("reserve alert sent"), null=True, blank=True,
                                              editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("currency")
        verbose_name_plural = _("currencies")

    def __str__(self) -> str:
        return self.code

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.code = normalize_currency_code(self.code)
        super().save(*args, **kwargs)


class DirectionQuerySet(models.QuerySet["Direction"]):
    def active(self) -> DirectionQuerySet:
        return self.filter(is_active=True, currency_give__is_active=True,
                           currency_get__is_active=True)

    def offered(self, now: datetime) -> DirectionQuerySet:
        """Active and with a rate that may be offered now (`Direction.rate_withheld` in SQL):
        what customers and bots may be shown and exchange at."""
        return self.active().filter(rate_hidden_reason="").filter(
            models.Q(rate_valid_until__isnull=True) | models.Q(rate_valid_until__gt=now))


class Direction(models.Model):
    """An exchange direction: give `currency_give`, get `currency_get` at rate_give:rate_get."""

    currency_give = models.ForeignKey(Currency, models.PROTECT, related_name="directions_out",
                                      verbose_name=_("customer gives"))
    currency_get = models.ForeignKey(Currency, models.PROTECT, related_name="directions_in",
                                     verbose_name=_("customer gets"))
    city = models.CharField(_("city"), max_length=20, blank=True,
                            help_text=_("Monitoring city code for cash directions, e.g. KIEV."))
    # The customer gives rate_give units of currency_give and gets rate_get of currency_get.
    rate_give = models.DecimalField(_("rate: give"), default=Decimal(1),
                                    validators=[MinValueValidator(Decimal(0))], **AMOUNT)
    rate_get = models.DecimalField(_("rate: get"), default=Decimal(1),
                                   validators=[MinValueValidator(Decimal(0))], **AMOUNT)
    min_amount = models.DecimalField(_("minimum (give)"), default=Decimal(0), **AMOUNT)
    max_amount = models.DecimalField(_("maximum (give)"), default=Decimal(0), **AMOUNT,
                                     help_text=_("0 means no maximum."))
    fee_give_percent = models.DecimalField(_("fee on give, %"), default=Decimal(0),
                                           max_digits=8, decimal_places=4)
    fee_get = models.DecimalField(_("fixed fee on get"), default=Decimal(0), **AMOUNT)
    # The exchanger's margin built into the rate: its profit on an exchange is this share of it.
    profit_percent = models.DecimalField(_("profit, %"), default=Decimal(0),
                                         max_digits=8, decimal_places=4)
    flags = models.CharField(_("monitoring flags"), max_length=200, blank=True,
                             validators=[validate_flags],
                             help_text=format_lazy("{}{}", _("Comma-separated: "),
                                                   ", ".join(DIRECTION_FLAGS)))
    is_active = models.BooleanField(_("active"), default=True)
    # Blank (or no value): the give currency's payment details apply.
    pay_to = models.CharField(_("pay to (our account or address)"), max_length=200, blank=True)
    pay_memo = models.CharField(_("memo / tag"), max_length=100, blank=True)
    pay_instructions = models.TextField(_("payment instructions (English)"), blank=True)
    pay_instructions_uk = models.TextField(_("payment instructions (Ukrainian)"), blank=True)
    pay_minutes = models.PositiveIntegerField(_("time to pay, minutes"), null=True, blank=True)
    # Which of the direction's fields (`DirectionField`, Premium's names) is the customer's
    # e-mail: Premium sites differ (`cf6` on some, `cf1` on others).
    email_field = models.CharField(
        _("e-mail field"), max_length=5, default="cf6", validators=[email_field_validator],
        help_text=_("The name of the field that asks the customer's e-mail (cf1 … cf99)."))
    automatic_payment = models.BooleanField(
        _("payment confirmed automatically"), default=False,
        help_text=_("The payment is detected without the customer's word (a merchant): "
                    "customers pay on the exchange's page and cannot mark it paid themselves."))
    rate_updated_at = models.DateTimeField(_("rate updated"), default=timezone.now)
    # Kept by the market-rate sync (obmin/rates) for a direction whose rate follows a formula
    # (through rate_feed.market_rates_apply); empty for a rate typed in or imported.
    rate_hidden_reason = models.CharField(
        _("why the rate is hidden"), max_length=500, blank=True,
        help_text=_("Set by the market-rate sync: while not empty the direction is out of the "
                    "export and takes no new exchanges."))
    rate_inputs_at = models.DateTimeField(
        _("oldest input of the rate"), null=True, blank=True,
        help_text=_("The time of the oldest market quote the current rate was built on."))
    rate_valid_until = models.DateTimeField(
        _("rate valid until"), null=True, blank=True,
        help_text=_("When the oldest quote passes its maximum age: from then on the direction "
                    "is out of the export and takes no new exchanges until a fresh rate."))
    rate_hold_minutes = models.PositiveIntegerField(
        _("rate held for the customer, minutes"), null=True, blank=True,
        help_text=_("How long a new exchange keeps the rate it was made at; the export marks "
                    "the direction “floating”. Blank: the rate is fixed for the whole "
                    "exchange."))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = DirectionQuerySet.as_manager()

    class Meta:
        ordering = ["currency_give__code", "currency_get__code", "city"]
        verbose_name = _("exchange direction")
        verbose_name_plural = _("exchange directions")
        constraints = [
            models.UniqueConstraint(fields=["currency_give", "currency_get", "city"],
                                    name="direction_unique_pair_city"),
            models.CheckConstraint(condition=~models.Q(currency_give=models.F("currency_get")),
                                   name="direction_distinct_currencies"),
        ]

    def __str__(self) -> str:
        city = f" ({self.city})" if self.city else ""
        return f"{self.currency_give_id and self.currency_give.code} → " \
               f"{self.currency_get_id and self.currency_get.code}{city}"

    @property
    def flag_list(self) -> list[str]:
        """The monitoring flags, with `floating` when the rate is held only for a while."""
        flags = parse_flags(self.flags)
        if self.rate_hold_minutes is not None and "floating" not in flags:
            flags.append("floating")
        return flags

    def rate_withheld(self, now: datetime) -> str:
        """Why the rate must not be offered now (export, new exchanges), or "" when it may."""
        if self.rate_hidden_reason:
            return self.rate_hidden_reason
        if self.rate_valid_until is not None and now >= self.rate_valid_until:
            return str(_("the market quotes behind the rate are older than allowed"))
        return ""

    def payment_details(self) -> PaymentDetails:
        """Where the customer pays: the direction's own details, else its give currency's."""
        give = self.currency_give
        return PaymentDetails(
            pay_to=self.pay_to or give.pay_to,
            memo=self.pay_memo or give.pay_memo,
            instructions=self.pay_instructions or give.pay_instructions,
            instructions_uk=self.pay_instructions_uk or give.pay_instructions_uk,
            minutes=give.pay_minutes if self.pay_minutes is None else self.pay_minutes,
        )


class DirectionField(models.Model):
    """A field a direction asks of the customer, by Premium's name. `account2` (where the
    customer receives) and the e-mail field are always asked; a row for them sets their label."""

    direction = models.ForeignKey("Direction", models.CASCADE, related_name="asked_fields",
                                  verbose_name=_("direction"))
    name = models.CharField(_("name"), max_length=8, validators=[field_name_validator])
    label = models.CharField(_("label (English)"), max_length=100)
    label_uk = models.CharField(_("label (Ukrainian)"), max_length=100, blank=True)
    tooltip = models.CharField(_("tooltip"), max_length=200, blank=True)
    required = models.BooleanField(_("required"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("direction field")
        verbose_name_plural = _("direction fields")
        constraints = [models.UniqueConstraint(fields=["direction", "name"],
                                               name="directionfield_unique_name")]

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class PaymentDetails:
    pay_to: str
    memo: str
    instructions: str
    instructions_uk: str
    minutes: int


class ExchangeStatus(models.TextChoices):
    """The lifecycle: new → paid (the customer says so) → received (the operator, or an
    automatic check, confirmed the money arrived) → success (the payout was sent), or error /
    cancelled. A claimed payment and a received one are different states on purpose."""

    NEW = "new", _("new")
    PAID = "paid", _("paid")
    RECEIVED = "received", _("received")
    SUCCESS = "success", _("success")
    ERROR = "error", _("error")
    CANCELLED = "cancelled", _("cancelled")


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Exchange(TrafficSource):
    """A customer's exchange. Rates, fees and prices are copied at creation and never change."""

    # Verbose names read as Django's defaults did in English; they exist to be translated.
    token = models.CharField(_("token"), max_length=64, unique=True, default=new_token,
                             editable=False)
    direction = models.ForeignKey(Direction, models.PROTECT, related_name="exchanges",
                                  verbose_name=_("direction"))
    currency_give = models.ForeignKey(Currency, models.PROTECT, related_name="+",
                                      verbose_name=_("currency give"))
    currency_get = models.ForeignKey(Currency, models.PROTECT, related_name="+",
                                     verbose_name=_("currency get"))
    rate_give = models.DecimalField(_("rate give"), **AMOUNT)
    rate_get = models.DecimalField(_("rate get"), **AMOUNT)
    amount_give = models.DecimalField(_("amount give"), **AMOUNT)
    amount_get = models.DecimalField(_("amount get"), **AMOUNT)
    profit_percent = models.DecimalField(_("profit percent"), default=Decimal(0), max_digits=8,
                                         decimal_places=4)
    usd_price_give = models.DecimalField(_("usd price give"), default=Decimal(0), **AMOUNT)
    usd_price_get = models.DecimalField(_("usd price get"), default=Decimal(0), **AMOUNT)
    email = models.EmailField(_("customer e-mail"))
    account_get = models.CharField(_("customer's account to receive"), max_length=200)
    user_hash = models.CharField(_("user hash"), max_length=32, blank=True, db_index=True)
    # The customer's address when the exchange was made (the API caller's for an API bid),
    # kept whole; partners see it masked as clicks' addresses are (`mask_ips`).
    user_ip = models.GenericIPAddressField(_("customer IP address"), null=True, blank=True)
    partner = models.ForeignKey("partners.Partner", models.PROTECT, null=True, blank=True,
                                related_name="exchanges", verbose_name=_("partner"))
    status = models.CharField(_("status"), max_length=16, choices=ExchangeStatus.choices,
                              default=ExchangeStatus.NEW, db_index=True)
    # Kept by the rewards room inside the status change's transaction; the ledger is the truth.
    partner_reward = models.DecimalField(_("partner reward"), default=Decimal(0), **AMOUNT)
    reward_accrued = models.BooleanField(_("reward accrued"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    # The last change of status, accrual or reward: what `get_exchanges`' `updated_since`
    # (incremental sync) selects on.
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    # Where the customer was told to pay, copied at creation like the rates.
    pay_to = models.CharField(_("pay to"), max_length=200, blank=True)
    pay_memo = models.CharField(_("memo / tag"), max_length=100, blank=True)
    # A new exchange still unpaid then is cancelled by the worker (null: no limit).
    pay_deadline = models.DateTimeField(_("pay by"), null=True, blank=True)
    # The direction's rate floats (`rate_hold_minutes`): the rate is promised until then.
    rate_held_until = models.DateTimeField(_("rate held until"), null=True, blank=True)
    # Paid after the hold: the rate and amount to receive were re-quoted at the market's then
    # (`amount_get_held`: what the customer was promised until `rate_held_until`).
    requoted_at = models.DateTimeField(_("re-quoted at"), null=True, blank=True)
    amount_get_held = models.DecimalField(_("amount promised during the hold"), max_digits=30,
                                          decimal_places=10, null=True, blank=True)
    # Transaction ids: the customer's payment (given with "I have paid") and the payout the
    # operator sent (given with success). The latest given wins; each is also on its change.
    customer_txid = models.CharField(_("customer's transaction id"), max_length=200,
                                     blank=True)
    payout_txid = models.CharField(_("payout transaction id"), max_length=200, blank=True)
    # The language of the customer's pages when the exchange was made: their e-mails' language.
    language = models.CharField(_("customer's language"), max_length=8, blank=True)
    # When the operator was told this exchange has waited too long in its current status
    # (cleared by every status change, so a new wait is told again).
    waiting_alerted_at = models.DateTimeField(_("waiting alert sent"), null=True, blank=True,
                                              editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("exchange")
        verbose_name_plural = _("exchanges")
        indexes = [
            models.Index(fields=["partner", "created_at"], name="exchange_partner_time"),
            models.Index(fields=["partner", "updated_at"], name="exchange_partner_updated"),
            # Which partner a returning customer is bound to (see partners.attribution).
            models.Index(fields=["email", "created_at"], name="exchange_email_time"),
        ]

    def __str__(self) -> str:
        # Codes, not ids, and the amount in the currency's own decimals: `#73 200 PMUSD → BTC`.
        give = self.currency_give
        return (f"#{self.pk} {plain(quantize(self.amount_give, give.decimals))} {give.code} → "
                f"{self.currency_get.code}")

    def explorer_link(self) -> str:
        """The block explorer's page of the customer's transaction, or ""."""
        template = self.currency_give.explorer_url
        if not (self.customer_txid and "{txid}" in template):
            return ""
        return template.replace("{txid}", quote(self.customer_txid, safe=""))

    @property
    def is_success(self) -> bool:
        return self.status == ExchangeStatus.SUCCESS

    @property
    def amount_give_usd(self) -> Decimal:
        return self.amount_give * self.usd_price_give

    @property
    def profit_usd(self) -> Decimal:
        return self.amount_give_usd * self.profit_percent / Decimal(100)


class ExchangeStatusChange(models.Model):
    """One entry per status change, in order: the exchange's history."""

    exchange = models.ForeignKey(Exchange, models.CASCADE, related_name="status_changes",
                                 verbose_name=_("exchange"))
    status = models.CharField(_("status"), max_length=16, choices=ExchangeStatus.choices)
    previous_status = models.CharField(_("previous status"), max_length=16,
                                       choices=ExchangeStatus.choices, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    actor = models.CharField(_("actor"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    txid = models.CharField(_("transaction id"), max_length=200, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")

    def __str__(self) -> str:
        return f"{self.previous_status or '∅'} → {self.status}"
