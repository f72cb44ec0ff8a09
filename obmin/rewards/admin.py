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

from obmin.lib.admin import (
    PLAIN_DECIMALS,
    ReadOnlyAdmin,
    SingletonAdmin,
    amount_text,
    time_column,
    truncated,
)
from obmin.partners.admin import PARTNER_COLUMN
from obmin.rewards.models import (
    LedgerEntry,
    PartnerAccount,
    Payout,
    PayoutMethod,
    RewardHold,
    RewardLevel,
    RewardOverride,
    RewardProgram,
    Tier,
)
from obmin.rewards.services import PayoutError, payout_mark_paid, payout_refuse

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@admin.register(RewardProgram)
class RewardProgramAdmin(SingletonAdmin):
    formfield_overrides = PLAIN_DECIMALS
    list_display = ["__str__", "reward_base", "min_payout", "hold_days", "second_tier_enabled",
                    time_column(RewardProgram, "updated_at")]


@admin.register(RewardLevel)
class RewardLevelAdmin(admin.ModelAdmin):
    formfield_overrides = PLAIN_DECIMALS
    list_display = ["min_turnover", "percent"]
    list_editable = ["percent"]


@admin.register(RewardOverride)
class RewardOverrideAdmin(admin.ModelAdmin):
    formfield_overrides = PLAIN_DECIMALS
    list_display = ["id", "partner", "direction", "kind", "value", "note"]
    list_filter = ["kind"]
    list_select_related = ["partner__user", "direction__currency_give",
                           "direction__currency_get"]
    raw_id_fields = ["partner", "direction"]
    search_fields = ["partner__user__email", "partner__ref_code"]


@admin.register(PayoutMethod)
class PayoutMethodAdmin(admin.ModelAdmin):
    formfield_overrides = PLAIN_DECIMALS
    list_display = ["id", "title", "commission_percent", "min_amount", "currency_code",
                    "usd_price", "is_active"]
    list_editable = ["commission_percent", "min_amount", "is_active"]
    list_filter = ["is_active"]


@admin.register(PartnerAccount)
class PartnerAccountAdmin(ReadOnlyAdmin):
    list_display = ["partner", "balance_usd", "pending_usd"]
    list_select_related = ["partner__user"]
    search_fields = ["partner__user__email", "partner__ref_code"]

    @admin.display(description=_("balance, USD"), ordering="balance")
    def balance_usd(self, obj: PartnerAccount) -> str:
        return amount_text(obj.balance, 2)

    @admin.display(description=_("pending, USD"), ordering="pending")
    def pending_usd(self, obj: PartnerAccount) -> str:
        return amount_text(obj.pending, 2)


@admin.register(RewardHold)
class RewardHoldAdmin(ReadOnlyAdmin):
    """Pending credits and when the worker makes them payable."""

    list_display = ["entry_id", "partner", "amount_usd", "exchange_number",
                    time_column(RewardHold, "release_at")]
    list_select_related = ["partner__user", "entry"]
    search_fields = ["=partner__user__email", "=partner__ref_code", "=entry__exchange__id"]

    @admin.display(description=_("amount, USD"))
    def amount_usd(self, obj: RewardHold) -> str:
        return amount_text(obj.entry.amount, 2)

    @admin.display(description=_("exchange"))
    def exchange_number(self, obj: RewardHold) -> str:
        return f"#{obj.entry.exchange_id}"


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", time_column(LedgerEntry, "created_at", _("time")), PARTNER_COLUMN,
                    "kind_text", "amount_usd", "exchange_number", "payout_number", "short_note"]
    list_filter = ["kind", "tier", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=partner__user__email", "=exchange__id", "=payout__id"]
    list_select_related = ["partner__user"]
    show_full_result_count = False

    @admin.display(description=_("amount, USD"), ordering="amount")
    def amount_usd(self, obj: LedgerEntry) -> str:
        return amount_text(obj.amount, 2)

    @admin.display(description=_("kind"), ordering="kind")
    def kind_text(self, obj: LedgerEntry) -> str:
        text = str(obj.get_kind_display())
        if obj.tier == Tier.SECOND:
            text += ", " + str(_("second tier"))
        if obj.pending_change > 0:
            text += ", " + str(_("pending"))
        return text


    @admin.display(description=_("note"))
    def short_note(self, obj: LedgerEntry) -> str:
        return truncated(obj.note, 20)

    # Numbers only: the exchange's and the payout's own descriptions made the list too wide.
    @admin.display(description=_("exchange"), ordering="exchange_id")
    def exchange_number(self, obj: LedgerEntry) -> str:
        return f"#{obj.exchange_id}" if obj.exchange_id else "—"

    @admin.display(description=_("payout"), ordering="payout_id")
    def payout_number(self, obj: LedgerEntry) -> str:
        return f"#{obj.payout_id}" if obj.payout_id else "—"


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
    transaction_id = forms.CharField(label=_("Transaction id (when marking paid)"),
                                     required=False, max_length=200)
    note = forms.CharField(label=_("Note (when marking paid)"), required=False, max_length=255)
    reason = forms.CharField(label=_("Reason (told to the partner on refusal)"), required=False,
                             max_length=255)


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    # Chosen to fit 1280 px: who changed it last and when are on the payout's page.
    list_display = ["id", time_column(Payout, "created_at", _("requested")), PARTNER_COLUMN,
                    "method", "short_account", "to_pay", "held_usd", "status"]
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
        _payout_action(request, queryset, payout_mark_paid, _("%(n)d payout(s) marked paid."),
                       transaction_id=request.POST.get("transaction_id", "").strip()[:200],
                       note=request.POST.get("note", "").strip()[:255])

    @admin.action(description=_("Refuse (return the held balance to the partner)"))
    def refuse(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        _payout_action(request, queryset, payout_refuse,
                       _("%(n)d payout(s) refused; their balance is back with the partner."),
                       reason=request.POST.get("reason", "").strip()[:255])


    @admin.display(description=_("account"), ordering="account")
    def short_account(self, obj: Payout) -> str:
        return truncated(obj.account, 18)

    @admin.display(description=_("amount to pay"), ordering="amount")
    def to_pay(self, obj: Payout) -> str:
        return f"{amount_text(obj.amount)} {obj.currency_code}"

    @admin.display(description=_("balance held, USD"), ordering="original_amount")
    def held_usd(self, obj: Payout) -> str:
        return amount_text(obj.original_amount, 2)
