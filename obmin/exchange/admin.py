"""The operator's back office for currencies, directions and exchanges, and the rate-feed upload."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from obmin.exchange.models import (
    Currency,
    Direction,
    DirectionField,
    Exchange,
    ExchangeStatus,
)
from obmin.exchange.rate_feed import RatesImportError, parse_rates_file, rates_import
from obmin.exchange.services import ExchangeError, exchange_set_status, typed_text
from obmin.lib.admin import (
    PLAIN_DECIMALS,
    amount_text,
    object_column,
    time_column,
    truncated,
    zoned_time,
)
from obmin.lib.errors import add_refusal
from obmin.lib.i18n import lazy_format

StatusAction = Callable[["admin.ModelAdmin[Exchange]", HttpRequest, "QuerySet[Exchange]"],
                        TemplateResponse | None]


class PaymentDetailsForm(forms.ModelForm):
    """A currency's or a direction's page: where customers are told to pay, checked as
    customers' accounts are (`typed_text`). A zero-width space pasted with the address would
    tell every customer a wrong one; the instructions may be in any script, line by line."""

    ADDRESSES = ("pay_to", "pay_memo")
    INSTRUCTIONS = ("pay_instructions", "pay_instructions_uk")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in (*self.ADDRESSES, *self.INSTRUCTIONS):
            try:
                if name in self.ADDRESSES:
                    cleaned[name] = typed_text(cleaned.get(name) or "", field=name)
                    continue
                # Line breaks and tabs are the instructions' own layout (not `splitlines`,
                # which would also pass the invisible line and paragraph separators).
                for line in re.split(r"\r\n|\r|\n", str(cleaned.get(name) or "")):
                    typed_text(line.replace("\t", " "), field=name, one_script=False)
            except ExchangeError as error:
                add_refusal(self, error)
        return cleaned


@admin.register(Currency)
class CurrencyAdmin(admin.ModelAdmin):
    form = PaymentDetailsForm
    formfield_overrides = PLAIN_DECIMALS
    list_display = ["code", "title", "decimals", "reserve", "usd_price", "account_format",
                    "is_active"]
    list_editable = ["reserve", "usd_price", "is_active"]
    list_filter = ["is_active", "account_format"]
    search_fields = ["code", "title"]


class RatesFileForm(forms.Form):
    file = forms.FileField(label=_("Rate file (.csv or .json)"))


class DirectionFieldInline(admin.TabularInline):
    """The fields a direction asks (Premium's names): what API v1's get_direction lists and
    create_bid takes."""

    model = DirectionField
    extra = 0
    fields = ["position", "name", "label", "label_uk", "tooltip", "required"]


@admin.register(Direction)
class DirectionAdmin(admin.ModelAdmin):
    form = PaymentDetailsForm
    inlines = [DirectionFieldInline]
    # The list's object tools link to the rate-feed upload (import_rates_view).
    formfield_overrides = PLAIN_DECIMALS
    change_list_template = "admin/exchange/direction/change_list.html"
    # Rates are edited in the list, wide enough to read whole; limits (changed rarely) are
    # shown as one column and edited on the direction's page, so the list fits 1280 px.
    list_display = ["__str__", "rate_give", "rate_get", "limits", "reserve_get", "profit",
                    "is_active", time_column(Direction, "rate_updated_at")]
    list_editable = ["rate_give", "rate_get", "is_active"]
    list_filter = ["is_active", "currency_give", "currency_get"]
    list_select_related = ["currency_give", "currency_get"]
    search_fields = ["currency_give__code", "currency_get__code", "city"]
    # The market-rate sync keeps these (obmin/rates); shown so the operator sees why a
    # direction is out of the export.
    readonly_fields = ["reserve_get", "rate_updated_at", "rate_hidden_reason", "rate_inputs_at",
                       "rate_valid_until", "updated_at"]
    list_per_page = 200

    @admin.display(description=_("profit, %"), ordering="profit_percent")
    def profit(self, obj: Direction) -> str:
        return amount_text(obj.profit_percent)

    @admin.display(description=_("limits"), ordering="min_amount")
    def limits(self, obj: Direction) -> str:
        """`10 – 5000 PMUSD` in the give currency; a bound of 0 is none."""
        low = amount_text(obj.min_amount) if obj.min_amount > 0 else "0"
        high = amount_text(obj.max_amount) if obj.max_amount > 0 else "∞"
        return f"{low} – {high} {obj.currency_give.code}"

    @admin.display(description=_("reserve"))
    def reserve_get(self, obj: Direction) -> str:
        """Read here, changed on the currency's page (or by the rate feed), where it is kept."""
        if obj.pk is None:
            return "-"
        currency = obj.currency_get
        url = reverse("admin:exchange_currency_change", args=[currency.pk])
        return format_html('<a href="{}">{} {}</a>', url,
                           amount_text(currency.reserve, currency.decimals), currency.code)

    def save_model(self, request: HttpRequest, obj: Direction, form: Any, change: bool) -> None:
        if {"rate_give", "rate_get"} & set(form.changed_data):
            obj.rate_updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    def get_urls(self) -> list[URLPattern]:
        return [
            path("import-rates/", self.admin_site.admin_view(self.import_rates_view),
                 name="exchange_rates_import"),
            *super().get_urls(),
        ]

    def import_rates_view(self, request: HttpRequest) -> HttpResponse:
        """`obmin rates import` in the browser: the feed writes directions and reserves."""
        if not (self.has_change_permission(request)
                and request.user.has_perm("exchange.change_currency")):
            raise PermissionDenied
        form = RatesFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                rows = parse_rates_file(name=upload.name, content=upload.read())
                result = rates_import(rows=rows)
            except RatesImportError as error:
                # Every refusal is about the uploaded file, whichever column it names.
                form.add_error("file", error.message)
            else:
                self.message_user(request, result.summary, messages.SUCCESS)
                return HttpResponseRedirect(request.path)
        context = {**self.admin_site.each_context(request), "form": form,
                   "opts": self.opts, "title": _("Import rates and reserves")}
        return TemplateResponse(request, "admin/exchange/direction/rates_import.html", context)


class StatusForm(forms.Form):
    txid = forms.CharField(label=_("Transaction id of the payout"), max_length=200,
                           required=False, widget=forms.TextInput(attrs={"size": 60}))
    note = forms.CharField(label=_("Reason (the customer reads it)"), max_length=255,
                           required=False, widget=forms.TextInput(attrs={"size": 60}))


# What the operator gives with a status, as on the desk: the payout's transaction id with
# success, the reason with error and cancelled.
STATUS_NEEDS: dict[str, str] = {ExchangeStatus.SUCCESS: "txid", ExchangeStatus.ERROR: "note",
                                ExchangeStatus.CANCELLED: "note"}


def _status_action(status: str) -> StatusAction:
    """A list action that first shows the chosen exchanges and asks what the status needs;
    its confirmation moves each from the status it showed (`only_from`), so a second click
    changes nothing."""

    def action(modeladmin: admin.ModelAdmin[Exchange], request: HttpRequest,
               queryset: QuerySet[Exchange]) -> TemplateResponse | None:
        form = StatusForm(request.POST if request.POST.get("confirm") else None)
        needs = STATUS_NEEDS.get(status, "")
        if form.is_bound and form.is_valid() and (not needs or form.cleaned_data[needs].strip()):
            done, refused = 0, []
            for exchange_id in queryset.values_list("pk", flat=True):
                try:
                    exchange_set_status(exchange_id=exchange_id, status=status,
                                        actor=f"admin:{request.user.get_username()}",
                                        note=form.cleaned_data["note"].strip(),
                                        txid=form.cleaned_data["txid"],
                                        only_from=request.POST.get(f"shown_{exchange_id}"))
                    done += 1
                except ExchangeError as error:
                    refused.append(error.message)
            if done:
                modeladmin.message_user(request, _("%(n)d exchange(s) set to %(status)s.")
                                        % {"n": done, "status": ExchangeStatus(status).label},
                                        messages.SUCCESS)
            for message in refused:
                modeladmin.message_user(request, message, messages.ERROR)
            return None
        if form.is_bound and needs == "txid":
            form.add_error("txid", _("Give the transaction id of the payout you sent."))
        elif form.is_bound and needs == "note":
            form.add_error("note", _("Give the reason; the customer reads it."))
        if needs != "txid":
            del form.fields["txid"]
        if needs != "note":
            form.fields["note"].label = _("Note (optional)")
        rows = [{"exchange": e, "give": f"{amount_text(e.amount_give, e.currency_give.decimals)} "
                 f"{e.currency_give.code}",
                 "get": f"{amount_text(e.amount_get, e.currency_get.decimals)} "
                 f"{e.currency_get.code}",
                 # The status the operator saw, kept when the page is shown again.
                 "shown": request.POST.get(f"shown_{e.pk}") or e.status}
                for e in queryset.select_related("currency_give", "currency_get").order_by("id")]
        return TemplateResponse(request, "admin/exchange/exchange/set_status.html", {
            **modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta,
            "title": lazy_format(_("Set status: %(status)s"),
                                 status=ExchangeStatus(status).label),
            "rows": rows, "form": form, "action": request.POST.get("action", ""),
            "submit": lazy_format(_("Confirm: %(label)s"), label=ExchangeStatus(status).label),
        })

    action.__name__ = f"set_status_{status}"
    # Lazy: built at import, shown in each operator's language.
    return admin.action(action, description=lazy_format(
        _("Set status: %(status)s"), status=ExchangeStatus(status).label))


@admin.register(Exchange)
class ExchangeAdmin(admin.ModelAdmin):
    # Amount and code in one column each, so the list fits 1280 px.
    list_display = ["id", time_column(Exchange, "created_at"), "you_give", "you_get",
                    "short_email",
                    object_column("partner", _("partner"), "partner__user__email", 20),
                    "status", "reward"]
    list_filter = ["status", ("created_at", admin.DateFieldListFilter), "currency_give",
                   "currency_get"]
    list_select_related = ["currency_give", "currency_get", "partner__user"]
    search_fields = ["=id", "email", "account_get", "user_hash"]
    date_hierarchy = "created_at"
    actions = [_status_action(s) for s in ExchangeStatus.values if s != ExchangeStatus.NEW]
    # The page reads as the operator checks an exchange: what and where first, the traffic
    # source last and folded. Amounts, rates and status are history: nothing here is edited
    # (no Save buttons); the status moves on the operator's desk or through the list's actions.
    fieldsets = [
        (None, {"fields": ["desk", "status", "give", "get", "rate", "email", "account_get",
                           "customer_txid", "payout_txid", "pay_to", "pay_memo",
                           "partner", "reward_text", "created", "status_changed", "pay_by",
                           "updated"]}),
        (_("status changes"), {"fields": ["history"]}),
        (_("Traffic source"), {"classes": ["collapse"], "fields": [
            "sub1", "sub2", "sub3", "sub4", "sub5", "utm_source", "utm_medium",
            "utm_campaign", "country", "user_hash", "user_ip", "language"]}),
    ]
    readonly_fields = ["desk", "give", "get", "rate", "reward_text", "created", "history",
                       "status_changed", "pay_by", "updated",
                       *(f.name for f in Exchange._meta.fields)]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Exchange | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Exchange | None = None) -> bool:
        # Read-only: the change page becomes a view page, without Save buttons that saved
        # nothing. The list's status actions ask no change permission.
        return False

    @admin.display(description=_("operator's desk"))
    def desk(self, obj: Exchange) -> str:
        # By the URL's name: the desk lives in a room above this one.
        return format_html('<a href="{}">{}</a>', reverse("ops:desk_exchange", args=[obj.pk]),
                           _("Open this exchange on the operator's desk"))

    @admin.display(description=_("status changes"))
    def history(self, obj: Exchange) -> str:
        """Every change with who made it, its transaction id and note, oldest first: a table
        in a box of its own that scrolls on a phone, reachable from the keyboard."""
        heads = [_("created at"), _("status"), _("actor"), _("transaction id"), _("note")]
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                                "<td>{}</td></tr>",
                                ((zoned_time(c.created_at), c.get_status_display(),
                                  c.actor or "-", c.txid or "-", c.note or "-")
                                 for c in obj.status_changes.all()))
        return format_html(
            '<div class="scroll-box" tabindex="0" role="region" aria-label="{}">'
            '<table id="status-history"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>'
            "</div>", _("status changes"),
            format_html_join("", "<th>{}</th>", ((head,) for head in heads)), rows)

    @admin.display(description=_("customer gives"))
    def give(self, obj: Exchange) -> str:
        return self.you_give(obj)

    @admin.display(description=_("customer gets"))
    def get(self, obj: Exchange) -> str:
        return self.you_get(obj)

    @admin.display(description=_("rate"))
    def rate(self, obj: Exchange) -> str:
        return f"{amount_text(obj.rate_give)} : {amount_text(obj.rate_get)}"

    @admin.display(description=_("partner reward"))
    def reward_text(self, obj: Exchange) -> str:
        accrued = _("accrued") if obj.reward_accrued else _("not accrued")
        return f"{amount_text(obj.partner_reward, 2)} USD ({accrued})"

    @admin.display(description=_("created at"))
    def created(self, obj: Exchange) -> str:
        return zoned_time(obj.created_at)

    @admin.display(description=_("status changed at"))
    def status_changed(self, obj: Exchange) -> str:
        return zoned_time(obj.status_changed_at)

    @admin.display(description=_("pay by"))
    def pay_by(self, obj: Exchange) -> str:
        return zoned_time(obj.pay_deadline)

    @admin.display(description=_("updated at"))
    def updated(self, obj: Exchange) -> str:
        return zoned_time(obj.updated_at)

    @admin.display(description=_("amount give"), ordering="amount_give")
    def you_give(self, obj: Exchange) -> str:
        currency = obj.currency_give
        return f"{amount_text(obj.amount_give, currency.decimals)} {currency.code}"

    @admin.display(description=_("amount get"), ordering="amount_get")
    def you_get(self, obj: Exchange) -> str:
        currency = obj.currency_get
        return f"{amount_text(obj.amount_get, currency.decimals)} {currency.code}"

    @admin.display(description=_("customer e-mail"), ordering="email")
    def short_email(self, obj: Exchange) -> str:
        return truncated(obj.email, 20)


    @admin.display(description=_("partner reward"), ordering="partner_reward")
    def reward(self, obj: Exchange) -> str:
        return amount_text(obj.partner_reward, 2)
