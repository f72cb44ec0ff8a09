"""Click rollups: hourly UTC totals per partner and per value of each dimension.

A click is counted in one row per dimension (the "" dimension is all of the partner's clicks),
so each breakdown reads only its own rows. Hours in UTC make any time zone's days right when
its offset is whole hours; a zone with a half-hour offset (Asia/Kolkata, Australia/Adelaide,
Asia/Kathmandu) splits one hour a day, and the statistics read that hour from the raw clicks
(see `obmin.stats.selectors`).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from obmin.lib.models import SingletonModel


class Dimension(models.TextChoices):
    ALL = "", _("all clicks")
    SUB1 = "sub1", "sub1"
    SUB2 = "sub2", "sub2"
    SUB3 = "sub3", "sub3"
    SUB4 = "sub4", "sub4"
    SUB5 = "sub5", "sub5"
    UTM_SOURCE = "utm_source", "utm_source"
    UTM_MEDIUM = "utm_medium", "utm_medium"
    UTM_CAMPAIGN = "utm_campaign", "utm_campaign"
    COUNTRY = "country", _("country")
    BROWSER = "browser", _("browser")
    REFERRER = "referrer", _("referrer domain")
    NETWORK = "network", _("network (/24)")


class ClickFigures(models.Model):
    """A click rollup's figures (crawlers left out): clicks and unique clicks."""

    partner = models.ForeignKey("partners.Partner", models.CASCADE, related_name="+",
                                verbose_name=_("partner"), db_index=False)
    dimension = models.CharField(_("dimension"), max_length=16, choices=Dimension.choices,
                                 blank=True)
    value = models.CharField(_("value"), max_length=255, blank=True)
    clicks = models.PositiveIntegerField(_("clicks"), default=0)
    unique_clicks = models.PositiveIntegerField(_("unique clicks"), default=0)

    class Meta:
        abstract = True


class ClickRollup(ClickFigures):
    """Clicks by UTC hour; `hour` is the first instant of the hour."""

    hour = models.DateTimeField(_("hour (UTC)"))

    class Meta:
        verbose_name = _("click rollup")
        verbose_name_plural = _("click rollups")
        constraints = [
            # Also the index every read uses: partner, dimension, then a range of hours.
            models.UniqueConstraint(fields=["partner", "dimension", "hour", "value"],
                                    name="click_rollup_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.dimension}={self.value} {self.hour}: {self.clicks}"


class RollupState(SingletonModel):
    """How far the rollups have read the click table (by click id).

    `rolled_id`: every click with an id up to it is in the rollups. `seen_id`: the highest id
    at the previous round; the next round rolls up to it, so a click whose insert was still
    uncommitted when its id was given has had a round's time to commit before it is passed.
    """

    rolled_id = models.BigIntegerField(_("clicks rolled up to id"), default=0)
    seen_id = models.BigIntegerField(_("highest click id at the last round"), default=0)
    # The archived daily totals that existed when the rollups were first built are folded in
    # then; clicks archived later were rolled up before they were archived.
    archive_folded = models.BooleanField(_("archived totals folded in"), default=False)
    # When the exchange rollups were last rebuilt; None: not built yet (every exchange is read
    # raw). Since then, the hours a write touched are marked in `StaleHour`.
    exchanges_at = models.DateTimeField(_("exchanges rolled up at"), null=True, blank=True)
    # The highest `StaleHour` id of each source at the previous round: marks up to it are
    # cleared by the next round, after it has rebuilt their hours (a mark whose write was still
    # uncommitted when its id was given has had a round's time to commit).
    clicks_stale_seen_id = models.BigIntegerField(_("last stale click hour seen"), default=0)
    exchanges_stale_seen_id = models.BigIntegerField(_("last stale exchange hour seen"),
                                                     default=0)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("rollup state")
        verbose_name_plural = _("rollup state")

    def __str__(self) -> str:
        return f"clicks rolled up to id {self.rolled_id}"


class ClickDayRollup(ClickFigures):
    """The hourly click rollups summed by whole UTC day (kept beside them, by the same
    upserts): a period's whole UTC days read one row each instead of 24."""

    day = models.DateField(_("day (UTC)"))

    class Meta:
        verbose_name = _("daily click rollup")
        verbose_name_plural = _("daily click rollups")
        constraints = [
            models.UniqueConstraint(fields=["partner", "dimension", "day", "value"],
                                    name="click_day_rollup_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.dimension}={self.value} {self.day}: {self.clicks}"


class ExchangeDimension(models.TextChoices):
    ALL = "", _("all exchanges")
    SUB1 = "sub1", "sub1"
    SUB2 = "sub2", "sub2"
    SUB3 = "sub3", "sub3"
    SUB4 = "sub4", "sub4"
    SUB5 = "sub5", "sub5"
    UTM_SOURCE = "utm_source", "utm_source"
    UTM_MEDIUM = "utm_medium", "utm_medium"
    UTM_CAMPAIGN = "utm_campaign", "utm_campaign"
    COUNTRY = "country", _("country")
    DIRECTION = "direction", _("direction")  # value: "<give currency id>:<get currency id>"


class ExchangeFigures(models.Model):
    """An exchange rollup's figures: exchanges, successful ones, the successful ones' turnover
    (amount_give * usd_price_give, exact) and accrued rewards."""

    partner = models.ForeignKey("partners.Partner", models.CASCADE, related_name="+",
                                verbose_name=_("partner"), db_index=False)
    dimension = models.CharField(_("dimension"), max_length=16,
                                 choices=ExchangeDimension.choices, blank=True)
    value = models.CharField(_("value"), max_length=255, blank=True)
    exchanges = models.PositiveIntegerField(_("exchanges"), default=0)
    successful = models.PositiveIntegerField(_("successful exchanges"), default=0)
    turnover = models.DecimalField(_("turnover, USD"), max_digits=60, decimal_places=20,
                                   default=0)
    rewards = models.DecimalField(_("rewards, USD"), max_digits=50, decimal_places=10,
                                  default=0)

    class Meta:
        abstract = True


class ExchangeRollup(ExchangeFigures):
    """Exchanges by the UTC hour they were created in, rebuilt whole from the exchange table
    for every hour a write marked stale (status and reward change after the fact; an exchange
    may be imported, moved or deleted)."""

    hour = models.DateTimeField(_("hour (UTC)"))

    class Meta:
        verbose_name = _("exchange rollup")
        verbose_name_plural = _("exchange rollups")
        constraints = [
            models.UniqueConstraint(fields=["partner", "dimension", "hour", "value"],
                                    name="exchange_rollup_unique"),
        ]
        indexes = [models.Index(fields=["hour"], name="exchange_rollup_hour")]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.dimension}={self.value} {self.hour}: {self.exchanges}"


class ExchangeDayRollup(ExchangeFigures):
    """The hourly exchange rollups summed by whole UTC day."""

    day = models.DateField(_("day (UTC)"))

    class Meta:
        verbose_name = _("daily exchange rollup")
        verbose_name_plural = _("daily exchange rollups")
        constraints = [
            models.UniqueConstraint(fields=["partner", "dimension", "day", "value"],
                                    name="exchange_day_rollup_unique"),
        ]
        indexes = [models.Index(fields=["day"], name="exchange_day_rollup_day")]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.dimension}={self.value} {self.day}: {self.exchanges}"


class StaleSource(models.TextChoices):
    CLICKS = "clicks", _("clicks")
    EXCHANGES = "exchanges", _("exchanges")


class StaleHour(models.Model):
    """A UTC hour whose rollups a write may have made stale, marked by database triggers on
    the click and exchange tables (`obmin.stats.triggers`), so even a bulk UPDATE, a raw
    INSERT or a DELETE that bypasses the ORM is seen. Statistics read a marked hour from the
    raw rows until the worker has rebuilt it and cleared the mark."""

    id = models.BigAutoField(primary_key=True)
    source = models.CharField(_("table"), max_length=16, choices=StaleSource.choices)
    hour = models.DateTimeField(_("hour (UTC)"))

    class Meta:
        verbose_name = _("stale rollup hour")
        verbose_name_plural = _("stale rollup hours")
        indexes = [models.Index(fields=["source", "hour"], name="stale_hour_source_hour")]

    def __str__(self) -> str:
        return f"{self.source} {self.hour}"
