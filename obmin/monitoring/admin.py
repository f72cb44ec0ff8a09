"""The operator's side of the export: its settings and who polls.

The rate feed that fills the export is the exchange room's (admin → Directions → Import rates
and reserves); the export settings page links to it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, TypedDict

from django.contrib import admin
from django.db.models import Q, QuerySet, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from obmin.lib.admin import SingletonAdmin, time_column
from obmin.monitoring.models import (
    DefaultExportPollHour,
    ExportSettings,
    MonitorPollHour,
    MonitorStatus,
)
from obmin.monitoring.services import monitor_export_switch
from obmin.monitoring.snapshot import current_snapshot

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise, WithAnnotations

# A monitor that has not polled for this long is shown as stopped.
STOPPED_AFTER = timedelta(minutes=15)


class PollCounts(TypedDict):
    """What MonitorStatusAdmin.get_queryset annotates; None when no poll in the period."""

    polls_hour: int | None
    polls_day: int | None


@admin.register(ExportSettings)
class ExportSettingsAdmin(SingletonAdmin):
    # Its object tools link to the rate-feed upload on the directions' admin.
    change_form_template = "admin/monitoring/exportsettings/change_form.html"
    fieldsets = [
        (None, {"fields": ["maintenance", "max_rate_age_minutes", "current_export"]}),
        (_("Default export paths"), {"fields": ["default_export_enabled",
                                                "default_export_polls"]}),
        (_("Manual directions"), {"fields": ["manual_hours_enabled", "manual_hours_start",
                                             "manual_hours_end"]}),
    ]
    readonly_fields = ["current_export", "default_export_polls"]

    @admin.display(description=_("current export"))
    def current_export(self, obj: ExportSettings) -> str:
        snapshot = current_snapshot()
        return _("%(count)d direction(s), changed %(modified)s") % {
            "count": snapshot.entry_count, "modified": snapshot.last_modified}


    @admin.display(description=_("polls of the default paths"))
    def default_export_polls(self, obj: ExportSettings) -> str:
        hour = timezone.now().replace(minute=0, second=0, microsecond=0)
        rows = DefaultExportPollHour.objects.filter(hour__gte=hour - timedelta(hours=23))
        day = rows.aggregate(total=Sum("polls"))["total"] or 0
        this_hour = sum(row.polls for row in rows if row.hour >= hour)
        return _("%(hour)d this hour, %(day)d in 24 h") % {"hour": this_hour, "day": day}


class PollingStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest,
                model_admin: admin.ModelAdmin[MonitorStatus]) -> list[tuple[str, StrOrPromise]]:
        return [("polling", _("polling")), ("stopped", _("stopped"))]

    def queryset(self, request: HttpRequest,
                 queryset: QuerySet[MonitorStatus]) -> QuerySet[MonitorStatus]:
        cutoff = timezone.now() - STOPPED_AFTER
        if self.value() == "polling":
            return queryset.filter(last_seen__gte=cutoff)
        if self.value() == "stopped":
            return queryset.filter(last_seen__lt=cutoff)
        return queryset


@admin.register(MonitorStatus)
class MonitorStatusAdmin(admin.ModelAdmin):
    list_display = ["partner", "export_code", "export_allowed", "state",
                    time_column(MonitorStatus, "last_seen"), "polls_last_hour", "polls_last_day",
                    time_column(MonitorStatus, "first_seen")]
    list_filter = [PollingStateFilter, "partner__export_enabled", "partner__is_blocked"]
    list_select_related = ["partner__user"]
    search_fields = ["partner__export_code", "partner__user__email"]
    readonly_fields = ["partner", "first_seen", "last_seen", "recent_hours"]
    actions = ["switch_export_off", "switch_export_on"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[MonitorStatus]:
        now = timezone.now()
        hour = now.replace(minute=0, second=0, microsecond=0)
        polls = "partner__export_poll_hours__polls"
        return super().get_queryset(request).annotate(
            polls_hour=Sum(polls, filter=Q(partner__export_poll_hours__hour__gte=hour)),
            polls_day=Sum(polls, filter=Q(
                partner__export_poll_hours__hour__gte=hour - timedelta(hours=23))),
        )

    @admin.display(description=_("export code"), ordering="partner__export_code")
    def export_code(self, obj: MonitorStatus) -> str:
        return obj.partner.export_code

    @admin.display(description=_("gets rates"), boolean=True)
    def export_allowed(self, obj: MonitorStatus) -> bool:
        return obj.partner.export_enabled and not obj.partner.is_blocked

    @admin.display(description=_("state"))
    def state(self, obj: MonitorStatus) -> str:
        if obj.last_seen >= timezone.now() - STOPPED_AFTER:
            return format_html('<span style="color:green">{}</span>', _("polling"))
        return format_html('<span style="color:#b00">{}</span>', _("stopped"))

    @admin.display(description=_("polls this hour"), ordering="polls_hour")
    def polls_last_hour(self, obj: WithAnnotations[MonitorStatus, PollCounts]) -> int:
        return obj.polls_hour or 0

    @admin.display(description=_("polls in 24 h"), ordering="polls_day")
    def polls_last_day(self, obj: WithAnnotations[MonitorStatus, PollCounts]) -> int:
        return obj.polls_day or 0

    @admin.display(description=_("polls by hour, last 48 h (UTC)"))
    def recent_hours(self, obj: MonitorStatus) -> str:
        rows = (MonitorPollHour.objects.filter(partner_id=obj.pk,
                                               hour__gte=timezone.now() - timedelta(hours=48))
                .order_by("-hour"))
        return format_html_join("\n", "{}:00 — {}<br>",
                                ((f"{row.hour:%Y-%m-%d %H}", row.polls) for row in rows))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Switch the export off for the selected monitors"))
    def switch_export_off(self, request: HttpRequest, queryset: QuerySet[MonitorStatus]) -> None:
        count = monitor_export_switch(partner_ids=list(queryset.values_list("pk", flat=True)),
                                      enabled=False)
        self.message_user(request, _("Export switched off for %(n)d monitor(s).") % {"n": count})

    @admin.action(description=_("Switch the export on for the selected monitors"))
    def switch_export_on(self, request: HttpRequest, queryset: QuerySet[MonitorStatus]) -> None:
        count = monitor_export_switch(partner_ids=list(queryset.values_list("pk", flat=True)),
                                      enabled=True)
        self.message_user(request, _("Export switched on for %(n)d monitor(s).") % {"n": count})
