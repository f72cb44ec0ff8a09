"""The exporter's settings and the poll statistics of monitoring sites (monitors are partners)."""

from __future__ import annotations

from datetime import time

from django.db import models
from django.utils.translation import gettext_lazy as _

from obmin.lib.models import SingletonModel


class ExportSettings(SingletonModel):
    """One row (pk 1): how the rate export behaves. Read through `selectors.export_settings`."""

    maintenance = models.BooleanField(
        _("maintenance mode"), default=False,
        help_text=_("Every export code answers Maintenance; monitors stop listing the exchanger."))
    max_rate_age_minutes = models.PositiveIntegerField(
        _("maximum rate age, minutes"), default=0,
        help_text=_("Directions whose rate was not updated for longer are left out. 0: no limit."))
    manual_hours_enabled = models.BooleanField(
        _("working hours for manual directions"), default=False,
        help_text=_("Outside these hours directions flagged “manual” are left out."))
    manual_hours_start = models.TimeField(_("working hours start (UTC)"), default=time(9, 0))
    manual_hours_end = models.TimeField(
        _("working hours end (UTC)"), default=time(21, 0),
        help_text=_("An end before the start means the hours run past midnight."))
    default_export_enabled = models.BooleanField(
        _("default export paths"), default=True,
        help_text=_("/request-exportxml.xml and /request-exporttxt.txt, Premium Exchanger's "
                    "default export addresses, answer the export without a code (polls are "
                    "counted as “default”). Off: they answer Maintenance."))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("export settings")
        verbose_name_plural = _("export settings")

    def __str__(self) -> str:
        return str(_("Export settings"))


class MonitorStatus(models.Model):
    """A partner whose export code has been polled: when first and last seen."""

    partner = models.OneToOneField("partners.Partner", models.CASCADE, primary_key=True,
                                   related_name="export_status", verbose_name=_("partner"))
    first_seen = models.DateTimeField(_("first poll"))
    last_seen = models.DateTimeField(_("last poll"), db_index=True)

    class Meta:
        ordering = ["-last_seen"]
        verbose_name = _("polling monitor")
        verbose_name_plural = _("polling monitors")

    def __str__(self) -> str:
        return str(self.partner)


class MonitorPollHour(models.Model):
    """How many times a partner's export code was polled in one UTC hour."""

    partner = models.ForeignKey("partners.Partner", models.CASCADE,
                                related_name="export_poll_hours", verbose_name=_("partner"))
    hour = models.DateTimeField(_("hour (UTC)"))
    polls = models.PositiveIntegerField(_("polls"), default=0)

    class Meta:
        ordering = ["-hour"]
        verbose_name = _("polls in an hour")
        verbose_name_plural = _("polls by hour")
        constraints = [
            models.UniqueConstraint(fields=["partner", "hour"], name="monitor_poll_hour_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.hour:%Y-%m-%d %H}:00 {self.polls}"


class DefaultExportPollHour(models.Model):
    """How many times the default export paths (no code) were polled in one UTC hour."""

    hour = models.DateTimeField(_("hour (UTC)"), unique=True)
    polls = models.PositiveIntegerField(_("polls"), default=0)

    class Meta:
        ordering = ["-hour"]
        verbose_name = _("default export polls in an hour")
        verbose_name_plural = _("default export polls by hour")

    def __str__(self) -> str:
        return f"default {self.hour:%Y-%m-%d %H}:00 {self.polls}"
