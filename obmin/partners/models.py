"""Partner accounts and the clicks on their referral links."""

from __future__ import annotations

import secrets
import string

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

CODE_ALPHABET = string.ascii_lowercase + string.digits


def new_partner_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


class Partner(models.Model):
    """A partner: an affiliate, or a monitoring site (monitors are partners too)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="partner")
    ref_code = models.CharField(_("referral code"), max_length=32, unique=True,
                                default=new_partner_code)
    # A new partner's export code is its referral code; codes are unique across both kinds.
    export_code = models.CharField(_("export code"), max_length=32, unique=True)
    export_enabled = models.BooleanField(_("export enabled"), default=True)
    is_blocked = models.BooleanField(
        _("blocked"), default=False,
        help_text=_("A blocked partner's link still redirects but attributes nothing."))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("partner")
        verbose_name_plural = _("partners")

    def __str__(self) -> str:
        return f"{self.user.email or self.user.get_username()} ({self.ref_code})"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not self.export_code:
            self.export_code = self.ref_code
        super().save(*args, **kwargs)

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def referral_link(self) -> str:
        return f"{settings.SITE_URL}/ref/{self.ref_code}/"


class Click(models.Model):
    """One visit through a partner's referral link, as the API's `get_links` reports it."""

    partner = models.ForeignKey(Partner, models.CASCADE, related_name="clicks")
    created_at = models.DateTimeField(default=timezone.now)
    browser = models.CharField(max_length=64, default="Unknown")
    ip = models.CharField(max_length=45, blank=True)
    referrer = models.CharField(max_length=1024, blank=True)
    user_hash = models.CharField(max_length=32, blank=True)
    query_string = models.CharField(max_length=2048, blank=True)
    is_bot = models.BooleanField(default=False)
    # First click of this visitor for this partner on this UTC day (unique clicks).
    is_unique = models.BooleanField(default=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("click")
        verbose_name_plural = _("clicks")
        indexes = [
            models.Index(fields=["partner", "created_at"], name="click_partner_time"),
        ]

    def __str__(self) -> str:
        return f"click #{self.pk} for {self.partner_id}"
