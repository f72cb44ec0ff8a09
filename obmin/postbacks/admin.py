"""Postbacks in the back office: the operator sees each partner's URLs and every delivery with
its attempts, may switch a postback off and resend deliveries. URLs are set by partners
(cabinet) or `obmin postback add`, where each is checked, never typed in here."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from obmin.lib.admin import time_column, truncated
from obmin.postbacks.models import Postback, PostbackAttempt, PostbackDelivery
from obmin.postbacks.services import delivery_resend


@admin.register(Postback)
class PostbackAdmin(admin.ModelAdmin):
    list_display = ("id", "partner", "method_code", "short_url", "event_list", "is_active")
    list_filter = ("is_active",)
    search_fields = ("partner__user__email", "partner__ref_code", "url")
    list_select_related = ("partner__user",)
    readonly_fields = ("partner", "url", "method", "events", "created_at", "updated_at")
    fields = ("partner", "url", "method", "events", "is_active", "created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("method"), ordering="method")
    def method_code(self, obj: Postback) -> str:
        return obj.method

    @admin.display(description=_("URL"))
    def short_url(self, obj: Postback) -> str:
        return truncated(obj.url, 40)

    @admin.display(description=_("events"))
    def event_list(self, obj: Postback) -> str:
        return ", ".join(obj.events)


class AttemptInline(admin.TabularInline):
    model = PostbackAttempt
    extra = 0
    can_delete = False
    fields = ("created_at", "status_code", "duration_ms", "error", "answer")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PostbackDelivery)
class PostbackDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "partner", "event", "status", "attempts", "short_result",
                    time_column(PostbackDelivery, "next_attempt_at", _("next attempt")),
                    time_column(PostbackDelivery, "created_at", _("created")))
    list_filter = ("status", "event", "is_test")
    search_fields = ("partner__user__email", "uid", "url")
    list_select_related = ("partner__user",)
    date_hierarchy = "created_at"
    fields = ("uid", "partner", "postback", "event", "is_test", "method", "url", "body",
              "status", "attempts", "last_result", "created_at", "next_attempt_at",
              "give_up_at", "finished_at")
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["resend"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("last result"))
    def short_result(self, obj: PostbackDelivery) -> str:
        return truncated(obj.last_result, 30)

    @admin.action(description=_("Resend the selected deliveries"))
    def resend(self, request: HttpRequest, queryset: QuerySet[PostbackDelivery]) -> None:
        deliveries = list(queryset.select_related("partner"))
        for delivery in deliveries:
            delivery_resend(partner=delivery.partner, delivery_id=delivery.pk)
        self.message_user(request, _("%(count)s delivery(ies) queued again.")
                          % {"count": len(deliveries)})
