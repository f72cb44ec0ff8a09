"""API keys in the back office: the operator sees who has keys, when they were used, revokes
one, and may create one for a partner. The raw key is shown exactly once: on the page that
answers the creation (never in a message, a log or the database).
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from obmin.lib.admin import time_column
from obmin.partner_api.models import ApiBid, ApiKey, BidCallback
from obmin.partner_api.services import apikey_create, apikey_revoke
from obmin.partner_api.v1.catalog import ALL_METHODS

# The raw key of a key created by this request, until response_add shows it.
_created: WeakKeyDictionary[ApiKey, str] = WeakKeyDictionary()


class ApiKeyCreateForm(forms.ModelForm):
    """The operator's "Add API key": the key itself is made by `apikey_create`."""

    methods = forms.MultipleChoiceField(
        label=_("Methods"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(name, name) for name in ALL_METHODS],
        help_text=_("API v1 method names the key may call (api.php's methods by their v1 "
                    "names); none chosen allows all."))

    class Meta:
        model = ApiKey
        fields = ("partner", "name", "is_test", "allowed_ips")


# What only the operator sets on a key (API v1's attribution and completion grants, its bid
# limit); the cabinet's keys never have the grants.
GRANTS = ("may_name_partners", "may_complete_bids", "bids_per_hour")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("key_start", "login", "partner", "name", "is_test",
                    time_column(ApiKey, "created_at"), time_column(ApiKey, "last_used_at"),
                    time_column(ApiKey, "revoked_at"))
    list_filter = ("is_test", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("partner__user__email", "partner__ref_code", "name", "key_start", "=login")
    readonly_fields = ("partner", "key_start", "login", "is_test", "created_at", "last_used_at",
                       "revoked_at")
    fields = ("partner", "key_start", "login", "name", "is_test", "allowed_ips", "methods",
              *GRANTS, "created_at", "last_used_at", "revoked_at")
    list_select_related = ("partner__user",)
    autocomplete_fields = ("partner",)
    actions = ["revoke"]

    def get_form(self, request: HttpRequest, obj: ApiKey | None = None, change: bool = False,
                 **kwargs: Any) -> type[forms.ModelForm]:
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        if obj is None:
            return ("partner", "name", "is_test", "allowed_ips", "methods", *GRANTS)
        return self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return () if obj is None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: ApiKey, form: forms.ModelForm,
                   change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # The key is made by the service (its hash, login and start); the fields were
        # checked by the form (allowed_ips' validator, the methods' choices).
        data = form.cleaned_data
        created, raw = apikey_create(
            partner=data["partner"], name=data.get("name") or "",
            test=bool(data.get("is_test")),
            allowed_ips=[str(ip) for ip in data.get("allowed_ips") or []],
            methods=list(data.get("methods") or []))
        ApiKey.objects.filter(pk=created.pk).update(**{name: data.get(name) for name in GRANTS})
        obj.pk, obj.login, obj.key_start = created.pk, created.login, created.key_start
        _created[obj] = raw

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any,
                     change: bool) -> None:
        if change:
            super().save_related(request, form, formsets, change)

    def response_add(self, request: HttpRequest, obj: ApiKey,
                     post_url_continue: str | None = None) -> HttpResponse:
        """The one page that shows the new key."""
        response = TemplateResponse(request, "admin/partner_api/apikey/created.html", {
            **self.admin_site.each_context(request), "opts": self.opts, "key": obj,
            "raw": _created.pop(obj, ""), "title": _("API key created"),
        })
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset.filter(revoked_at__isnull=True).select_related("partner"))
        for key in keys:
            apikey_revoke(partner=key.partner, key_id=key.pk)
        count = len(keys)
        self.message_user(request, _("%(count)s key(s) revoked.") % {"count": count})


@admin.register(ApiBid)
class ApiBidAdmin(admin.ModelAdmin):
    """Read-only: which key created which exchange, and its callbacks' state."""

    list_display = ("exchange", "api_key", "api_id", "callback_url",
                    time_column(ApiBid, "created_at"))
    search_fields = ("=exchange__id", "api_id", "api_key__login")
    list_select_related = ("exchange__currency_give", "exchange__currency_get", "api_key")
    readonly_fields = ("exchange", "api_key", "api_id", "callback_url", "fields", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(BidCallback)
class BidCallbackAdmin(admin.ModelAdmin):
    list_display = ("bid", "status", "attempts", time_column(BidCallback, "delivered_at"),
                    time_column(BidCallback, "next_attempt_at"), "last_error")
    list_filter = (("delivered_at", admin.EmptyFieldListFilter),)
    readonly_fields = ("bid", "status", "body", "created_at", "attempts", "next_attempt_at",
                       "delivered_at", "last_error")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
