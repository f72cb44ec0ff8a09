"""The operator's back office for currencies, directions and exchanges."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from obmin.exchange.models import (
    Currency,
    Direction,
    Exchange,
    ExchangeStatus,
    ExchangeStatusChange,
)
from obmin.exchange.services import ExchangeError, exchange_set_status
from obmin.lib.i18n import lazy_format


@admin.register(Currency)
class CurrencyAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "decimals", "reserve", "usd_price", "is_active"]
    list_editable = ["reserve", "usd_price", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "title"]


@admin.register(Direction)
class DirectionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "rate_give", "rate_get", "min_amount", "max_amount",
                    "profit_percent", "is_active", "rate_updated_at"]
    list_editable = ["rate_give", "rate_get", "min_amount", "max_amount", "is_active"]
    list_filter = ["is_active", "currency_give", "currency_get"]
    list_select_related = ["currency_give", "currency_get"]
    search_fields = ["currency_give__code", "currency_get__code", "city"]
    readonly_fields = ["rate_updated_at", "updated_at"]
    list_per_page = 200

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if {"rate_give", "rate_get"} & set(form.changed_data):
            obj.rate_updated_at = timezone.now()
        super().save_model(request, obj, form, change)


class StatusChangeInline(admin.TabularInline):
    model = ExchangeStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["created_at", "previous_status", "status", "actor", "note"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


def _status_action(status: str):  # type: ignore[no-untyped-def]
    def action(modeladmin, request, queryset):  # type: ignore[no-untyped-def]
        done, refused = 0, []
        for exchange_id in queryset.values_list("pk", flat=True):
            try:
                exchange_set_status(exchange_id=exchange_id, status=status,
                                    actor=f"admin:{request.user.get_username()}")
                done += 1
            except ExchangeError as error:
                refused.append(error.message)
        if done:
            modeladmin.message_user(request, _("%(n)d exchange(s) set to %(status)s.")
                                    % {"n": done, "status": ExchangeStatus(status).label},
                                    messages.SUCCESS)
        for message in refused:
            modeladmin.message_user(request, message, messages.ERROR)

    action.__name__ = f"set_status_{status}"
    # Lazy: built at import, shown in each operator's language.
    action.short_description = lazy_format(  # type: ignore[attr-defined]
        _("Set status: %(status)s"), status=ExchangeStatus(status).label)
    return action


@admin.register(Exchange)
class ExchangeAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "currency_give", "amount_give", "currency_get",
                    "amount_get", "email", "partner", "status", "partner_reward",
                    "reward_accrued"]
    list_filter = ["status", ("created_at", admin.DateFieldListFilter), "currency_give",
                   "currency_get"]
    list_select_related = ["currency_give", "currency_get", "partner__user"]
    search_fields = ["=id", "email", "account_get", "user_hash"]
    date_hierarchy = "created_at"
    inlines = [StatusChangeInline]
    actions = [_status_action(s) for s in ExchangeStatus.values if s != ExchangeStatus.NEW]
    # Amounts, rates and status are history: the status moves only through the actions.
    readonly_fields = [f.name for f in Exchange._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
