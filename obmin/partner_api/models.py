"""API keys of the partner API: shown once, stored only as a hash, revocable."""

from __future__ import annotations

import ipaddress

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

LIVE_PREFIX = "obm_live_"
TEST_PREFIX = "obm_test_"


def validate_allowed_ips(value: object) -> None:
    if not isinstance(value, list):
        raise ValidationError(_("A list of IP addresses or networks."))
    for entry in value:
        try:
            ipaddress.ip_network(str(entry), strict=False)
        except ValueError:
            raise ValidationError(
                _("%(entry)s is not an IP address or network."), params={"entry": entry}
            ) from None


class ApiKey(models.Model):
    """One key of a partner's API access; a test key answers from the sandbox."""

    partner = models.ForeignKey("partners.Partner", models.CASCADE, related_name="api_keys",
                                verbose_name=_("partner"))
    name = models.CharField(_("name"), max_length=100, blank=True)
    is_test = models.BooleanField(_("test key (sandbox)"), default=False)
    # SHA-256 of the key, hex. The key is 256 random bits, so a plain fast hash is safe: there
    # is nothing to brute-force or look up in a dictionary, unlike a password that needs a slow
    # hash; and a fast hash keeps every API request a single indexed lookup.
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the key (prefix plus a few random ones), so the partner can tell
    # keys apart in the cabinet; far too short to be used as the key.
    key_start = models.CharField(_("key starts with"), max_length=20, editable=False)
    allowed_ips = models.JSONField(
        _("allowed IP addresses"), default=list, blank=True, validators=[validate_allowed_ips],
        help_text=_("Addresses or networks (CIDR) that may use the key; empty allows any."))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.key_start}… ({self.name or self.partner_id})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def ip_allowed(self, ip: str) -> bool:
        if not self.allowed_ips:
            return True
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        for entry in self.allowed_ips:
            try:
                if address in ipaddress.ip_network(str(entry), strict=False):
                    return True
            except (ValueError, TypeError):
                continue
        return False
