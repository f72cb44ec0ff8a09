"""Operator's view of partners and their clicks."""

from django.contrib import admin

from obmin.partners.models import Click, Partner


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "ref_code", "export_code", "export_enabled", "is_blocked",
                    "created_at"]
    list_filter = ["is_blocked", "export_enabled"]
    search_fields = ["user__email", "ref_code", "export_code"]
    raw_id_fields = ["user"]


@admin.register(Click)
class ClickAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "partner", "browser", "ip", "referrer", "is_bot",
                    "is_unique"]
    list_filter = ["is_bot", "is_unique"]
    raw_id_fields = ["partner"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
