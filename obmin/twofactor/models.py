"""The operator's two-factor policy: who must have a second factor before using the cabinet,
the admin or the staff pages. The devices themselves are django-otp's (TOTP, static codes)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from obmin.lib.models import SingletonModel


class TwoFactorPolicy(SingletonModel):
    """One row (pk 1), edited by the operator in the admin."""

    staff_required = models.BooleanField(
        _("required for staff"),
        default=False,
        help_text=_(
            "Staff members must set up two-factor sign-in before they can use the "
            "admin or the staff pages."
        ),
    )
    partner_balance_above = models.DecimalField(
        _("required for partners with a balance above, USD"),
        max_digits=20,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text=_(
            "A partner whose payable balance is above this must set up "
            "two-factor sign-in before using the cabinet. Empty: never required. "
            "API keys are not affected."
        ),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("two-factor policy")
        verbose_name_plural = _("two-factor policy")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="twofactor_policy_singleton")]

    def __str__(self) -> str:
        return str(_("Two-factor policy"))
