"""The operator's side of the export: its settings, the rate-feed upload, and who polls."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from obmin.lib.admin import SingletonAdmin
from obmin.monitoring.models import ExportSettings, MonitorPollHour, MonitorStatus
from obmin.monitoring.services import (
    RatesImportError,
    monitor_export_switch,
    parse_rates_file,
    rates_import,
)
from obmin.monitoring.snapshot import current_snapshot

# A monitor that has not polled for this long is shown as stopped.
STOPPED_AFTER = timedelta(minutes=15)


class RatesFileForm(forms.Form):
    file = forms.FileField(label=_("Rate file (.csv or .json)"))


@admin.register(ExportSettings)
class ExportSettingsAdmin(SingletonAdmin):
    change_form_template = "admin/monitoring/exportsettings/change_form.html"
    fieldsets = [
        (None, {"fields": ["maintenance", "max_rate_age_minutes", "current_export"]}),
        (_("Manual directions"), {"fields": ["manual_hours_enabled", "manual_hours_start",
                                             "manual_hours_end"]}),
    ]
    readonly_fields = ["current_export"]

    @admin.display(description=_("current export"))
    def current_export(self, obj: ExportSettings) -> str:
        snapshot = current_snapshot()
        return _("%(count)d direction(s), changed %(modified)s") % {
            "count": snapshot.entry_count, "modified": snapshot.last_modified}

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path("import-rates/", self.admin_site.admin_view(self.import_rates_view),
                 name="monitoring_rates_import"),
            *super().get_urls(),
        ]

    def import_rates_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = RatesFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                rows = parse_rates_file(name=upload.name, content=upload.read())
                result = rates_import(rows=rows)
            except RatesImportError as error:
                form.add_error("file", error.message)
            else:
                self.message_user(request, result.summary, messages.SUCCESS)
                return HttpResponseRedirect(request.path)
        context = {**self.admin_site.each_context(request), "form": form,
                   "opts": self.opts, "title": _("Import rates and reserves")}
        return TemplateResponse(request, "admin/monitoring/exportsettings/rates_import.html",
                                context)


class PollingStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):  # type: ignore[no-untyped-def]
        return [("polling", _("polling")), ("stopped", _("stopped"))]

    def queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        cutoff = timezone.now() - STOPPED_AFTER
        if self.value() == "polling":
            return queryset.filter(last_seen__gte=cutoff)
        if self.value() == "stopped":
            return queryset.filter(last_seen__lt=cutoff)
        return queryset


@admin.register(MonitorStatus)
class MonitorStatusAdmin(admin.ModelAdmin):
    list_display = ["partner", "export_code", "export_allowed", "state", "last_seen",
                    "polls_last_hour", "polls_last_day", "first_seen"]
    list_filter = [PollingStateFilter, "partner__export_enabled", "partner__is_blocked"]
    list_select_related = ["partner__user"]
    search_fields = ["partner__export_code", "partner__user__email"]
    readonly_fields = ["partner", "first_seen", "last_seen", "recent_hours"]
    actions = ["switch_export_off", "switch_export_on"]

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
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
    def polls_last_hour(self, obj: MonitorStatus) -> int:
        return obj.polls_hour or 0  # type: ignore[attr-defined]

    @admin.display(description=_("polls in 24 h"), ordering="polls_day")
    def polls_last_day(self, obj: MonitorStatus) -> int:
        return obj.polls_day or 0  # type: ignore[attr-defined]

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
    def switch_export_off(self, request, queryset):  # type: ignore[no-untyped-def]
        count = monitor_export_switch(partner_ids=list(queryset.values_list("pk", flat=True)),
                                      enabled=False)
        self.message_user(request, _("Export switched off for %(n)d monitor(s).") % {"n": count})

    @admin.action(description=_("Switch the export on for the selected monitors"))
    def switch_export_on(self, request, queryset):  # type: ignore[no-untyped-def]
        count = monitor_export_switch(partner_ids=list(queryset.values_list("pk", flat=True)),
                                      enabled=True)
        self.message_user(request, _("Export switched on for %(n)d monitor(s).") % {"n": count})
