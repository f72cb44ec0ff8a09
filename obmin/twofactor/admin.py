"""The back office's two-factor pages: the policy row, whether each user has two-factor, and
an operator's reset of it (audited; the user is e-mailed).

django-otp's own device pages are removed: they would show and edit the secret keys.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Value
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp import device_classes
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from obmin.lib.admin import SingletonAdmin
from obmin.twofactor.models import TwoFactorPolicy
from obmin.twofactor.services import twofactor_disable, twofactor_enabled

for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)


@admin.register(TwoFactorPolicy)
class TwoFactorPolicyAdmin(SingletonAdmin):
    fields = ["staff_required", "partner_balance_above"]


User = get_user_model()
_UserAdmin: Any = type(admin.site.get_model_admin(User))
admin.site.unregister(User)


@admin.register(User)
class TwoFactorUserAdmin(_UserAdmin):
    """Django's user admin with a two-factor column and the operator's reset."""

    list_display = [*_UserAdmin.list_display, "two_factor"]
    actions = [*(_UserAdmin.actions or []), "reset_two_factor"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # One EXISTS per kind of second factor (an app, a passkey...), not queries per row.
        found = [
            Exists(model.objects.filter(user_id=OuterRef("pk"), confirmed=True))
            for model in device_classes()
            if not issubclass(model, StaticDevice)
        ]
        queryset = super().get_queryset(request)
        if not found:
            return queryset.annotate(has_two_factor=Value(False))
        any_found = reduce(operator.or_, found[1:], Q(found[0]))
        return queryset.annotate(
            has_two_factor=ExpressionWrapper(any_found, output_field=BooleanField())
        )

    @admin.display(description=_("two-factor"), boolean=True)
    def two_factor(self, obj: Any) -> bool:
        found = getattr(obj, "has_two_factor", None)
        return twofactor_enabled(obj) if found is None else bool(found)

    @admin.action(
        description=_("Reset two-factor sign-in (the user lost its phone)"), permissions=["change"]
    )
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        done = [
            user.get_username() for user in queryset if twofactor_disable(user=user, by_staff=True)
        ]
        if done:
            self.message_user(
                request,
                gettext("Two-factor sign-in reset for: %(users)s; they were e-mailed.")
                % {"users": ", ".join(done)},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request, gettext("None of them had two-factor sign-in."), messages.WARNING
            )
