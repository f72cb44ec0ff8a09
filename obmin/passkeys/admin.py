"""The back office's list of users' passkeys: read only (what a passkey is, whose, when it was
added and last used), and removal of one (a lost device) through `passkey_remove_by_staff`,
audited under the operator's name. No passkey is added or edited here: only its owner's
browser makes one."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp_webauthn.models import WebAuthnCredential

from obmin.lib.admin import ReadOnlyAdmin, time_column
from obmin.passkeys.services import passkey_remove_by_staff

if admin.site.is_registered(WebAuthnCredential):
    admin.site.unregister(WebAuthnCredential)


@admin.register(WebAuthnCredential)
class PasskeyAdmin(ReadOnlyAdmin):
    list_display = ["name", "user", time_column(WebAuthnCredential, "created_at"),
                    time_column(WebAuthnCredential, "last_used_at"), "backed_up"]
    list_select_related = ["user"]
    list_filter = ["last_used_at", "created_at"]
    search_fields = ["name", "user__email", "user__username"]
    ordering = ["-created_at"]
    # No public key nor credential id: nothing here is needed to tell one passkey from another.
    fields = ["user", "name", "created_at", "last_used_at", "sign_count", "transports",
              "backup_eligible", "backup_state", "aaguid"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Read only, but a lost device's passkey may be removed (with the model's permission).
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    @admin.display(description=_("synced copies"), boolean=True)
    def backed_up(self, obj: WebAuthnCredential) -> bool:
        return bool(obj.backup_state)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None
                       ) -> bool:
        # The partner's page links to its passkeys (?user=<id>).
        return lookup == "user" or super().lookup_allowed(lookup, value, request)

    def delete_model(self, request: HttpRequest, obj: WebAuthnCredential) -> None:
        passkey_remove_by_staff(passkey=obj)

    def delete_queryset(self, request: HttpRequest,
                        queryset: QuerySet[WebAuthnCredential]) -> None:
        for passkey in queryset.select_related("user"):
            passkey_remove_by_staff(passkey=passkey)
