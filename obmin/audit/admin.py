"""The audit trail in the back office: read-only, filterable, downloadable as CSV."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import URLPattern, path
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from obmin.audit.models import AuditEntry
from obmin.lib.admin import ReadOnlyAdmin, time_column, truncated
from obmin.lib.csvsafe import csv_response

CSV_HEADER = ["id", "time", "actor", "address", "action", "object_type", "object_id", "object",
              "before", "after"]


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True,
                                               default=str)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", time_column(AuditEntry, "created_at"), "actor", "address", "action",
                    "object_type", "object_id", "short_object"]
    list_filter = ["action", "object_type", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["actor", "=object_id", "object_repr", "=address"]
    fields = readonly_fields = (
        "created_at", "actor", "address", "action", "object_type", "object_id",
        "object_repr", "before_json", "after_json")
    show_full_result_count = False

    @admin.display(description=_("object"))
    def short_object(self, obj: AuditEntry) -> str:
        return truncated(obj.object_repr, 30)

    @admin.display(description=_("before"))
    def before_json(self, obj: AuditEntry) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.before, indent=2, ensure_ascii=False,
                                                         sort_keys=True, default=str))

    @admin.display(description=_("after"))
    def after_json(self, obj: AuditEntry) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.after, indent=2, ensure_ascii=False,
                                                         sort_keys=True, default=str))

    def get_urls(self) -> list[URLPattern]:
        return [path("csv/", self.admin_site.admin_view(self.csv_view),
                     name="audit_auditentry_csv"), *super().get_urls()]

    def csv_view(self, request: HttpRequest) -> StreamingHttpResponse:
        """The list as filtered and searched on the page (its query string), every row."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        entries = self.get_changelist_instance(request).get_queryset(request)
        rows = ([entry.pk, entry.created_at, entry.actor, entry.address, entry.action,
                 entry.object_type, entry.object_id, entry.object_repr, _json(entry.before),
                 _json(entry.after)] for entry in entries.iterator(chunk_size=2000))
        return csv_response("audit.csv", CSV_HEADER, rows)
