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
from django.template.response import TemplateResponse
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
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
    EntryKind,
    LedgerEntry,
    PartnerAccount,
    Payout,
    PayoutMethod,
    RewardHold,
    RewardLevel,
    RewardOverride,
    RewardProgram,
    RewardReview,
    RiskSettings,
    Tier,
)
from obmin.rewards.risk import RULES, evidence_text
from obmin.rewards.services import (
    PayoutError,
    ReviewError,
    payout_approve,
    payout_mark_paid,
    payout_refuse,
    reward_approve,
    reward_reject,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@admin.register(RewardProgram)
class RewardProgramAdmin(SingletonAdmin):
    formfield_overrides = PLAIN_DECIMALS
    list_display = ["__str__", "reward_base", "min_payout", "hold_days", "second_tier_enabled",
                    time_column(RewardProgram, "updated_at")]


@admin.register(RiskSettings)
class RiskSettingsAdmin(SingletonAdmin):
    formfield_overrides = PLAIN_DECIMALS


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
    actions = ["reject_rewards"]

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return may_decide(request)

    @admin.action(description=_("Reject these rewards (with a reason told to the partner)"),
                  permissions=["decide"])
    def reject_rewards(self, request: HttpRequest,
                       queryset: QuerySet[LedgerEntry]) -> TemplateResponse | None:
        credits = queryset.filter(kind=EntryKind.CREDIT, tier=Tier.FIRST)
        return _decide(self, request, list(credits.values_list("pk", flat=True)), reject=True)

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


def may_decide(request: HttpRequest) -> bool:
    """Approving and rejecting rewards moves money: the reviews' change permission."""
    return request.user.has_perm("rewards.change_rewardreview")


class DecisionForm(forms.Form):
    reason = forms.CharField(label=_("Reason (told to the partner)"), max_length=255,
                             required=False, widget=forms.TextInput(attrs={"size": 80}))


def _decide(model_admin: admin.ModelAdmin, request: HttpRequest, credit_ids: list[int], *,
            reject: bool) -> TemplateResponse | None:
    """Approves or rejects rewards in bulk: first a page that shows them with their evidence
    and asks for the reason; its confirmation runs the service for each."""
    if not credit_ids:
        messages.error(request, _("None of the selected rows is a reward."))
        return None
    form = DecisionForm(request.POST if request.POST.get("confirm") else None)
    if form.is_bound and form.is_valid() and (form.cleaned_data["reason"] or not reject):
        done = 0
        for credit_id in credit_ids:
            try:
                if reject:
                    reward_reject(credit_id=credit_id, reason=form.cleaned_data["reason"])
                else:
                    reward_approve(credit_id=credit_id, reason=form.cleaned_data["reason"])
                done += 1
            except ReviewError as error:
                messages.error(request, error.message)
        if done:
            messages.success(request, (_("%(n)d reward(s) rejected.") if reject
                                       else _("%(n)d reward(s) approved.")) % {"n": done})
        return None
    if form.is_bound and reject:
        form.add_error("reason", _("Give the reason for the rejection; the partner is told it."))
    credits = (LedgerEntry.objects.filter(pk__in=credit_ids).select_related("partner__user")
               .order_by("id"))
    reviews = {r.pk: r for r in RewardReview.objects.filter(entry_id__in=credit_ids)}
    rows = [{"credit_id": credit.pk, "partner": str(credit.partner),
             "exchange_id": credit.exchange_id, "amount": amount_text(credit.amount, 2),
             "state": reviews[credit.pk].get_state_display() if credit.pk in reviews
             else _("approved"),
             "evidence": [evidence_text(hit) for hit in reviews[credit.pk].evidence]
             if credit.pk in reviews else []}
            for credit in credits]
    opts = model_admin.model._meta
    return TemplateResponse(request, "admin/rewards/decide.html", {
        **model_admin.admin_site.each_context(request), "opts": opts,
        "title": _("Reject rewards") if reject else _("Approve rewards"),
        "question": _("Reject these rewards? Each is taken back from the partner's balance; "
                      "one already paid out leaves a debt that later rewards repay.")
        if reject else _("Approve these rewards? They become payable when their holding "
                         "period is over."),
        "submit": _("Yes, reject") if reject else _("Yes, approve"),
        "rows": rows, "form": form, "selected": request.POST.getlist("_selected_action"),
        "action": request.POST.get("action", "")})


class OpenReviewFilter(admin.SimpleListFilter):
    title = _("rule")
    parameter_name = "rule"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin
                ) -> list[tuple[str, StrOrPromise]]:
        return list(RULES.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[RewardReview]
                 ) -> QuerySet[RewardReview]:
        value = self.value()
        if not value:
            return queryset
        ids = [review.pk for review in queryset.only("entry_id", "evidence")
               if any(hit.get("rule") == value for hit in review.evidence)]
        return queryset.filter(pk__in=ids)


@admin.register(RewardReview)
class RewardReviewAdmin(admin.ModelAdmin):
    """Rewards a risk rule held, with the evidence; the operator approves or rejects them."""

    list_display = ["entry_id", time_column(RewardReview, "created_at"), PARTNER_COLUMN,
                    "exchange_number", "amount_usd", "state", "rules", "decided_by"]
    list_filter = ["state", OpenReviewFilter]
    list_select_related = ["partner__user", "entry"]
    search_fields = ["=partner__user__email", "=partner__ref_code", "=exchange__id"]
    actions = ["approve", "reject"]
    fields = readonly_fields = (
        "entry", "partner", "exchange", "amount_usd", "state", "evidence_lines",
        "created_at", "decided_at", "decided_by", "reason")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RewardReview | None = None
                              ) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RewardReview | None = None
                              ) -> bool:
        return False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return may_decide(request)

    @admin.action(description=_("Approve (payable after the holding period)"),
                  permissions=["decide"])
    def approve(self, request: HttpRequest, queryset: QuerySet[RewardReview]
                ) -> TemplateResponse | None:
        return _decide(self, request, list(queryset.values_list("entry_id", flat=True)),
                       reject=False)

    @admin.action(description=_("Reject (with a reason told to the partner)"),
                  permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet[RewardReview]
               ) -> TemplateResponse | None:
        return _decide(self, request, list(queryset.values_list("entry_id", flat=True)),
                       reject=True)

    @admin.display(description=_("exchange"), ordering="exchange_id")
    def exchange_number(self, obj: RewardReview) -> str:
        return f"#{obj.exchange_id}"

    @admin.display(description=_("amount, USD"))
    def amount_usd(self, obj: RewardReview) -> str:
        return amount_text(obj.entry.amount, 2)

    @admin.display(description=_("rules"))
    def rules(self, obj: RewardReview) -> str:
        return "; ".join(str(RULES.get(hit.get("rule", ""), hit.get("rule", "")))
                         for hit in obj.evidence) or "—"

    @admin.display(description=_("evidence"))
    def evidence_lines(self, obj: RewardReview) -> SafeString:
        return format_html_join("", "<p>{}</p>", ((evidence_text(hit),) for hit in obj.evidence))


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
    # Chosen to fit 1280 px beside the actions' fields: who changed it last and when, and the
    # balance it holds in USD, are on the payout's page.
    list_display = ["id", time_column(Payout, "created_at", _("requested")), PARTNER_COLUMN,
                    "method", "short_account", "to_pay", "status"]
    list_filter = ["status", "method", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["partner__user", "method"]
    search_fields = ["=id", "partner__user__email", "account"]
    actions = ["approve", "mark_paid", "refuse"]
    action_form = PayoutActionForm
    # A payout changes only through the actions, which keep the ledger in step.
    readonly_fields = [f.name for f in Payout._meta.fields] + ["held_usd"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Payout | None = None) -> bool:
        return False

    @admin.action(description=_("Approve (the first of two staff members, for large payouts)"))
    def approve(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        _payout_action(request, queryset, payout_approve,
                       _("%(n)d payout(s) approved; another staff member may mark them paid."))

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
