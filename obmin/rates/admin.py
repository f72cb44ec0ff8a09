"""The operator's market rates: sources (enabled and tuned, with their health), the quotes,
each direction's formula with its inputs and why it is hidden, and reserve formulas."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from obmin.lib.admin import PLAIN_DECIMALS, ReadOnlyAdmin, amount_text, time_column, truncated
from obmin.rates.formula import FormulaError, formula_text
from obmin.rates.models import MarketRate, Quote, RateSource, ReserveFormula
from obmin.rates.selectors import step_line
from obmin.rates.services import (
    RatesError,
    StoredInputs,
    market_formula_check,
    market_rate_compute,
    market_rate_confirm,
    reserve_formula_check,
)


def _age(moment: Any) -> str:
    if moment is None:
        return "-"
    return f"{(timezone.now() - moment).total_seconds():.0f} s"


@admin.register(RateSource)
class RateSourceAdmin(admin.ModelAdmin):
    # An address typed without a scheme is https (Django 6's default, chosen now).
    formfield_overrides = {**PLAIN_DECIMALS, models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "venue", "is_enabled", "interval_seconds", "timeout_seconds",
                    "max_age_seconds", time_column(RateSource, "last_success_at"),
                    "success_age", "latency", "error"]
    list_editable = ["is_enabled", "interval_seconds", "timeout_seconds", "max_age_seconds"]
    list_filter = ["is_enabled", "venue"]
    readonly_fields = ["last_attempt_at", "last_success_at", "last_latency_ms", "last_error",
                       "next_poll_at"]

    @admin.display(description=_("age of last success"))
    def success_age(self, obj: RateSource) -> str:
        return _age(obj.last_success_at)

    @admin.display(description=_("latency, ms"), ordering="last_latency_ms")
    def latency(self, obj: RateSource) -> str:
        return "-" if obj.last_latency_ms is None else str(obj.last_latency_ms)

    @admin.display(description=_("last error"))
    def error(self, obj: RateSource) -> str:
        return truncated(obj.last_error, 40) or "-"


@admin.register(Quote)
class QuoteAdmin(ReadOnlyAdmin):
    list_display = ["source", "symbol", "bid_text", "ask_text", "last_text",
                    time_column(Quote, "venue_time"), time_column(Quote, "fetched_at"), "age",
                    "problem"]
    list_filter = ["source"]
    list_select_related = ["source"]
    search_fields = ["symbol"]

    @admin.display(description=pgettext_lazy("market price", "bid"))
    def bid_text(self, obj: Quote) -> str:
        return amount_text(obj.bid)

    @admin.display(description=_("ask"))
    def ask_text(self, obj: Quote) -> str:
        return amount_text(obj.ask)

    @admin.display(description=_("last"))
    def last_text(self, obj: Quote) -> str:
        return amount_text(obj.last)

    @admin.display(description=_("age"))
    def age(self, obj: Quote) -> str:
        return _age(obj.taken_at)


class MarketRateForm(forms.ModelForm):
    class Meta:
        model = MarketRate
        fields = ["direction", "is_enabled", "formula", "side", "max_jump_percent",
                  "max_spread_percent"]
        widgets = {"formula": forms.Textarea(attrs={"rows": 3, "cols": 80})}

    def clean_formula(self) -> str:
        try:
            # Kept as the operator wrote it is ambiguous; kept canonical, it reads the same
            # in the list, the command line and the next edit.
            return formula_text(market_formula_check(self.cleaned_data["formula"]))
        except FormulaError as error:
            raise forms.ValidationError(error.message) from None


@admin.register(MarketRate)
class MarketRateAdmin(admin.ModelAdmin):
    form = MarketRateForm
    formfield_overrides = PLAIN_DECIMALS
    list_display = ["direction", "is_enabled", "formula_short", "offered", "pending",
                    "state", time_column(MarketRate, "computed_at")]
    list_filter = ["is_enabled"]
    list_select_related = ["direction__currency_give", "direction__currency_get"]
    readonly_fields = ["inputs", "accepted_rate", "pending_rate", "problem", "computed_at"]
    actions = ["confirm_jump"]

    @admin.display(description=_("formula"))
    def formula_short(self, obj: MarketRate) -> str:
        return truncated(obj.formula, 60)

    @admin.display(description=_("rate offered"))
    def offered(self, obj: MarketRate) -> str:
        return amount_text(obj.accepted_rate)

    @admin.display(description=_("awaiting confirmation"))
    def pending(self, obj: MarketRate) -> str:
        return amount_text(obj.pending_rate)

    @admin.display(description=_("why hidden"))
    def state(self, obj: MarketRate) -> str:
        return obj.problem or "-"

    @admin.display(description=_("inputs now"))
    def inputs(self, obj: MarketRate) -> str:
        """Each step of the formula with its value and each quote with its age, now."""
        if obj.pk is None:
            return "-"
        result = market_rate_compute(obj, StoredInputs(timezone.now()))
        return format_html("<pre>{}</pre>", format_html_join(
            "\n", "{}", ((step_line(step),) for step in result.steps)))

    @admin.action(description=_("Confirm the jumped rate"))
    def confirm_jump(self, request: HttpRequest, queryset: QuerySet[MarketRate]) -> None:
        for market in queryset:
            try:
                market_rate_confirm(market_rate_id=market.pk,
                                    actor=f"admin:{request.user.get_username()}")
            except RatesError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, _("%(direction)s: jumped rate confirmed.")
                                  % {"direction": market.direction}, messages.SUCCESS)


class ReserveFormulaForm(forms.ModelForm):
    class Meta:
        model = ReserveFormula
        fields = ["currency", "is_enabled", "formula"]
        widgets = {"formula": forms.Textarea(attrs={"rows": 2, "cols": 80})}

    def clean_formula(self) -> str:
        try:
            return formula_text(reserve_formula_check(self.cleaned_data["formula"]))
        except FormulaError as error:
            raise forms.ValidationError(error.message) from None


@admin.register(ReserveFormula)
class ReserveFormulaAdmin(admin.ModelAdmin):
    form = ReserveFormulaForm
    list_display = ["currency", "is_enabled", "formula", "reserve", "problem",
                    time_column(ReserveFormula, "computed_at")]
    list_select_related = ["currency"]
    readonly_fields = ["problem", "computed_at"]

    @admin.display(description=_("reserve"))
    def reserve(self, obj: ReserveFormula) -> str:
        return amount_text(obj.currency.reserve, obj.currency.decimals)
