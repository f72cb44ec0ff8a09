"""Market rate sources and their quotes, and the formulas directions' rates and currencies'
reserves follow."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from obmin.exchange.models import AMOUNT, Currency, Direction
from obmin.rates.formula import SOURCE_PATTERN
from obmin.rates.venues import venue_choices

PERCENT: dict[str, Any] = {"max_digits": 8, "decimal_places": 4,
                           "validators": [MinValueValidator(Decimal(0))]}


class RateSource(models.Model):
    """A venue polled for quotes; `name` is how formulas call it (`[name:SYMBOL:bid]`)."""

    name = models.CharField(
        _("name in formulas"), max_length=32, unique=True,
        validators=[RegexValidator(rf"\A{SOURCE_PATTERN}\Z",
                                   _("Lower-case letters, digits and _, starting with a "
                                     "letter."))],
        help_text=_("Formulas name quotes as [name:SYMBOL:bid|ask|last|mid]."))
    venue = models.CharField(_("venue"), max_length=32, choices=venue_choices)
    url = models.URLField(_("address"), blank=True,
                          help_text=_("Blank: the venue's public API. For another exchanger's "
                                      "export: the whole address of its XML."))
    is_enabled = models.BooleanField(_("enabled"), default=False)
    interval_seconds = models.PositiveIntegerField(_("poll every, seconds"), default=30,
                                                   validators=[MinValueValidator(1)])
    timeout_seconds = models.DecimalField(_("timeout, seconds"), max_digits=5,
                                          decimal_places=2, default=Decimal(5),
                                          validators=[MinValueValidator(Decimal("0.1"))])
    max_age_seconds = models.PositiveIntegerField(
        _("maximum quote age, seconds"), default=120, validators=[MinValueValidator(1)],
        help_text=_("An older quote is not used: directions built on it leave the export. "
                    "Central banks publish once a day: allow a few days (weekends)."))
    # Health, kept by the sync.
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(_("latency, ms"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    next_poll_at = models.DateTimeField(_("next poll"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("rate source")
        verbose_name_plural = _("rate sources")

    def __str__(self) -> str:
        return self.name

    @property
    def failing(self) -> bool:
        """Whether the last poll failed (a source that never answered counts as failing)."""
        return bool(self.last_error) or (self.last_attempt_at is not None
                                         and self.last_success_at is None)


class Quote(models.Model):
    """The latest prices of one symbol at one source: the venue's time and ours."""

    source = models.ForeignKey(RateSource, models.CASCADE, related_name="quotes",
                               verbose_name=_("source"))
    symbol = models.CharField(_("symbol"), max_length=40)
    bid = models.DecimalField(pgettext_lazy("market price", "bid"), null=True, blank=True, **AMOUNT)
    ask = models.DecimalField(_("ask"), null=True, blank=True, **AMOUNT)
    last = models.DecimalField(_("last"), null=True, blank=True, **AMOUNT)
    venue_time = models.DateTimeField(_("venue's time"), null=True, blank=True)
    fetched_at = models.DateTimeField(_("received"))
    # Why the last answer had no usable price for this symbol (delisted, not positive).
    problem = models.CharField(_("problem"), max_length=200, blank=True)

    class Meta:
        ordering = ["source__name", "symbol"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        constraints = [models.UniqueConstraint(fields=["source", "symbol"],
                                               name="quote_unique_source_symbol")]

    def __str__(self) -> str:
        return f"{self.source_id and self.source.name}:{self.symbol}"

    @property
    def taken_at(self) -> datetime:
        """When the prices were true: the venue's time, but never later than we received
        them (a venue whose clock runs ahead must not make its quote look fresher)."""
        if self.venue_time is None:
            return self.fetched_at
        return min(self.venue_time, self.fetched_at)

    def price(self, field: str) -> Decimal | None:
        if field == "mid":
            if self.bid is None or self.ask is None:
                return None
            return (self.bid + self.ask) / 2
        value: Decimal | None = getattr(self, field)
        return value


class RateSide(models.TextChoices):
    GET = "get", _("customer gets this much for 1 given")
    GIVE = "give", _("customer gives this much for 1 received")


class MarketRate(models.Model):
    """A direction whose rate follows a formula over market quotes; directions without one
    (or with it off) keep the rates the operator types in or imports."""

    direction = models.OneToOneField(Direction, models.CASCADE, related_name="market_rate",
                                     verbose_name=_("direction"))
    is_enabled = models.BooleanField(_("follows the formula"), default=True,
                                     help_text=_("Off: the direction's rate is manual again."))
    formula = models.TextField(
        _("formula"),
        help_text=_("e.g. round(margin(median([binance:BTCUSDT:bid], [kraken:XBTUSDT:bid]), "
                    "1.5), 2). Functions: median, min, max, round(x, places), clamp(x, low, "
                    "high), margin(x, percent[, fixed])."))
    side = models.CharField(_("the formula says"), max_length=4, choices=RateSide.choices,
                            default=RateSide.GET)
    max_jump_percent = models.DecimalField(
        _("largest jump, %"), default=Decimal(5), **PERCENT,
        help_text=_("A new rate further than this from the last one offered (the formula's "
                    "first: from the manual rate it replaces) waits for your confirmation, out "
                    "of the export."))
    max_spread_percent = models.DecimalField(
        _("largest spread between venues, %"), default=Decimal(2), **PERCENT,
        help_text=_("Venues in one median() further apart than this: the direction leaves the "
                    "export."))
    # State, kept by the sync.
    accepted_rate = models.DecimalField(_("rate offered"), null=True, blank=True, **AMOUNT)
    pending_rate = models.DecimalField(_("jumped rate awaiting confirmation"), null=True,
                                       blank=True, **AMOUNT)
    problem = models.CharField(_("why hidden"), max_length=500, blank=True)
    computed_at = models.DateTimeField(_("computed"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("market rate")
        verbose_name_plural = _("market rates")

    def __str__(self) -> str:
        return str(self.direction)


class ReserveFormula(models.Model):
    """A currency whose reserve follows a formula: another currency's reserve, a fixed
    amount less what open exchanges will pay out (`reserve(BTC)`, `held(BTC)`), quotes."""

    currency = models.OneToOneField(Currency, models.CASCADE, related_name="reserve_formula",
                                    verbose_name=_("currency"))
    is_enabled = models.BooleanField(_("follows the formula"), default=True)
    formula = models.TextField(
        _("formula"), help_text=_("e.g. min(reserve(USDTTRC20), 50000 - held(USDTERC20))"))
    # State, kept by the sync.
    problem = models.CharField(_("problem"), max_length=500, blank=True)
    computed_at = models.DateTimeField(_("computed"), null=True, blank=True)

    class Meta:
        verbose_name = _("reserve formula")
        verbose_name_plural = _("reserve formulas")

    def __str__(self) -> str:
        return str(self.currency)
