"""The operator's side of the partner program: rules, payout methods, payouts and the ledger.

The ledger and balances are read-only here; money moves only through the services (the payout
actions below, and exchange status changes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from obmin.lib.admin import ReadOnlyAdmin, SingletonAdmin
from obmin.rewards.models import (
    LedgerEntry,
    PartnerAccount,
    Payout,
    PayoutMethod,
    RewardLevel,
    RewardOverride,
    RewardProgram,
)
from obmin.rewards.services import PayoutError, payout_mark_paid, payout_refuse

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@admin.register(RewardProgram)
class RewardProgramAdmin(SingletonAdmin):
    list_display = ["__str__", "reward_base", "min_payout", "updated_at"]


@admin.register(RewardLevel)
class RewardLevelAdmin(admin.ModelAdmin):
    list_display = ["min_turnover", "percent"]
    list_editable = ["percent"]


@admin.register(RewardOverride)
class RewardOverrideAdmin(admin.ModelAdmin):
    list_display = ["id", "partner", "direction", "kind", "value", "note"]
    list_filter = ["kind"]
    list_select_related = ["partner__user", "direction__currency_give",
                           "direction__currency_get"]
    raw_id_fields = ["partner", "direction"]
    search_fields = ["partner__user__email", "partner__ref_code"]


@admin.register(PayoutMethod)
class PayoutMethodAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "commission_percent", "min_amount", "currency_code",
                    "usd_price", "is_active"]
    list_editable = ["commission_percent", "min_amount", "is_active"]
    list_filter = ["is_active"]


@admin.register(PartnerAccount)
class PartnerAccountAdmin(ReadOnlyAdmin):
    list_display = ["partner", "balance"]
    list_select_related = ["partner__user"]
    search_fields = ["partner__user__email", "partner__ref_code"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "partner", "kind", "amount", "exchange", "payout", "note"]
    list_filter = ["kind", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["partner__user"]
    search_fields = ["=partner__user__email", "=exchange__id", "=payout__id"]
    show_full_result_count = False


def _payout_action(request: HttpRequest, queryset: QuerySet[Payout],
                   change: Callable[..., Payout], done_text: StrOrPromise, **extra: str) -> None:
    done = 0
    actor = f"admin:{request.user.get_username()}"
    for payout_id in queryset.values_list("pk", flat=True):
        try:
            change(payout_id=payout_id, actor=actor, **extra)
            done += 1
        except PayoutError as error:
            messages.error(request, error.message)
    if done:
        messages.success(request, done_text % {"n": done})


class PayoutActionForm(ActionForm):
    reason = forms.CharField(label=_("Reason (told to the partner on refusal)"), required=False,
                             max_length=255)


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "partner", "method", "account", "amount", "currency_code",
                    "original_amount", "status", "status_changed_at", "actor"]
    list_filter = ["status", "method", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["partner__user", "method"]
    search_fields = ["=id", "partner__user__email", "account"]
    actions = ["mark_paid", "refuse"]
    action_form = PayoutActionForm
    # A payout changes only through the actions, which keep the ledger in step.
    readonly_fields = [f.name for f in Payout._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Payout | None = None) -> bool:
        return False

    @admin.action(description=_("Mark as paid (the money has been sent)"))
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        _payout_action(request, queryset, payout_mark_paid, _("%(n)d payout(s) marked paid."))

    @admin.action(description=_("Refuse (return the held balance to the partner)"))
    def refuse(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        _payout_action(request, queryset, payout_refuse,
                       _("%(n)d payout(s) refused; their balance is back with the partner."),
                       reason=request.POST.get("reason", "").strip()[:255])
