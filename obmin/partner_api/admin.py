"""API keys in the back office: the operator sees who has keys, when they were used, and can
revoke one. Keys are created by partners (cabinet) or `obmin apikey create`, never here,
because the raw key must be shown to its owner exactly once.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from obmin.partner_api.models import ApiKey
from obmin.partner_api.services import apikey_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("key_start", "partner", "name", "is_test", "created_at", "last_used_at",
                    "revoked_at")
    list_filter = ("is_test", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("partner__user__email", "partner__ref_code", "name", "key_start")
    readonly_fields = ("partner", "key_start", "is_test", "created_at", "last_used_at",
                       "revoked_at")
    fields = ("partner", "key_start", "name", "is_test", "allowed_ips", "created_at",
              "last_used_at", "revoked_at")
    list_select_related = ("partner__user",)
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset.filter(revoked_at__isnull=True).select_related("partner"))
        for key in keys:
            apikey_revoke(partner=key.partner, key_id=key.pk)
        count = len(keys)
        self.message_user(request, _("%(count)s key(s) revoked.") % {"count": count})
