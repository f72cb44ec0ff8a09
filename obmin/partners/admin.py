"""Operator's view of partners, their clicks, and the referral program's settings."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from obmin.lib.admin import (
    ReadOnlyAdmin,
    SingletonAdmin,
    object_column,
    time_column,
    truncated,
)
from obmin.lib.text import ascii_digits
from obmin.partners.models import Click, ClickDay, OldReferralCode, Partner, ReferralSettings
from obmin.partners.services import partner_delete, partner_save, partner_set_blocked


class OldReferralCodeInline(admin.TabularInline):
    """The partner's earlier referral codes: they still count for it, and nobody else may
    take them (kept by the services, so shown here only)."""

    model = OldReferralCode
    fields = ["code", "replaced_at"]
    readonly_fields = ["code", "replaced_at"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    # Monitors are found with the filter: the list keeps to 1280 px.
    list_display = ["id", "user", "ref_code", "export_code", "export_enabled", "is_blocked",
                    time_column(Partner, "created_at")]
    list_filter = ["is_blocked", "is_monitor", "export_enabled"]
    search_fields = ["user__email", "ref_code", "export_code", "old_codes__code"]
    raw_id_fields = ["user", "referred_by"]
    readonly_fields = ["created_at"]
    actions = ["block", "unblock"]
    inlines = [OldReferralCodeInline]

    def save_model(self, request: HttpRequest, obj: Partner, form: Any, change: bool) -> None:
        partner_save(partner=obj)

    def delete_model(self, request: HttpRequest, obj: Partner) -> None:
        partner_delete(partner=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        for partner in queryset:
            partner_delete(partner=partner)

    def _set_blocked(self, request: HttpRequest, queryset: QuerySet[Partner],
                     blocked: bool) -> None:
        # One by one through the service, so each partner's cached code is dropped.
        count = 0
        for partner in queryset:
            if partner.is_blocked != blocked:
                partner_set_blocked(partner=partner, blocked=blocked)
                count += 1
        text = (ngettext("%(count)d partner blocked.", "%(count)d partners blocked.", count)
                if blocked else
                ngettext("%(count)d partner unblocked.", "%(count)d partners unblocked.", count))
        self.message_user(request, text % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Block: their links attribute nothing"))
    def block(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        self._set_blocked(request, queryset, True)

    @admin.action(description=_("Unblock"))
    def unblock(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        self._set_blocked(request, queryset, False)


# A partner in every list of the back office: `e-mail (code)`, as its own page names it.
PARTNER_COLUMN = object_column("partner", _("partner"), "partner__user__email")


class PartnerFilter(admin.SimpleListFilter):
    """Clicks of one partner; the choices come from the partner table, not from the clicks
    (a related-only filter would read the whole click table on every page)."""

    title = _("partner")
    parameter_name = "partner"

    def lookups(self, request: HttpRequest,
                model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, str]]:
        return [(str(pk), f"{email} ({code})") for pk, email, code in
                Partner.objects.order_by("user__email").values_list("pk", "user__email",
                                                                   "ref_code")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value and ascii_digits(value):
            return queryset.filter(partner_id=int(value))
        return queryset


@admin.register(Click)
class ClickAdmin(ReadOnlyAdmin):
    # Chosen to fit 1280 px: the id, user hash and the full referrer are on the click's page.
    list_display = [time_column(Click, "created_at"), PARTNER_COLUMN, "browser", "ip",
                    "short_referrer", "is_bot", "is_unique"]
    list_filter = [PartnerFilter, ("is_bot", admin.BooleanFieldListFilter), "is_unique",
                   "created_at"]
    list_select_related = ["partner__user"]
    search_fields = ["partner__ref_code", "ip", "user_hash", "=browser"]
    raw_id_fields = ["partner"]
    ordering = ["-created_at", "-id"]
    # No date hierarchy: it reads the dates of the whole click table on every page.
    show_full_result_count = False


    @admin.display(description=_("referrer"), ordering="referrer")
    def short_referrer(self, obj: Click) -> str:
        return truncated(obj.referrer)


@admin.register(ClickDay)
class ClickDayAdmin(ReadOnlyAdmin):
    list_display = ["day", "partner", "clicks", "unique_clicks", "bot_clicks"]
    list_select_related = ["partner__user"]
    search_fields = ["partner__ref_code"]
    date_hierarchy = "day"


@admin.register(ReferralSettings)
class ReferralSettingsAdmin(SingletonAdmin):
    """The referral program's settings; saving them applies at once (see partners.program)."""
