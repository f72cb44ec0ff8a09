"""API keys of the partner API: shown once, stored only as a hash, revocable."""

from __future__ import annotations

import ipaddress
import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from obmin.partner_api.v1.catalog import ALL_METHODS

LIVE_PREFIX = "obm_live_"
TEST_PREFIX = "obm_test_"


def new_login() -> str:
    """A key's public login for API v1's `API-LOGIN` header: not a secret, only unique."""
    return secrets.token_hex(10)


def validate_methods(value: object) -> None:
    if not isinstance(value, list):
        raise ValidationError(_("A list of method names."))
    unknown = [str(name) for name in value if name not in ALL_METHODS]
    if unknown:
        raise ValidationError(_("Unknown method(s): %(names)s."),
                              params={"names": ", ".join(unknown)})


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
    # API v1 sends it as `API-LOGIN` beside the secret; api.php needs the secret alone.
    login = models.CharField(_("login"), max_length=32, unique=True, default=new_login,
                             editable=False)
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
    methods = models.JSONField(
        _("methods"), default=list, blank=True, validators=[validate_methods],
        help_text=_("API v1 method names the key may call (api.php's methods by their v1 "
                    "names); empty allows all."))
    # Operator-only grants and limits (the admin); keys partners create have neither grant.
    may_name_partners = models.BooleanField(
        _("may attribute bids to other partners"), default=False,
        help_text=_("create_bid's partner_id may name any partner; without this grant only "
                    "the key's own partner."))
    may_complete_bids = models.BooleanField(
        _("may complete bids (success_bid)"), default=False,
        help_text=_("For the exchanger's own tools: success_bid marks a bid done."))
    bids_per_hour = models.PositiveIntegerField(
        _("bids per hour"), null=True, blank=True,
        help_text=_("create_bid's limit for this key; empty: PARTNER_API_BIDS_PER_HOUR."))
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

    def allows(self, method: str) -> bool:
        """Whether the key may call this v1 method (every method when no set is chosen)."""
        return not self.methods or method in self.methods

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


class ApiBid(models.Model):
    """An exchange created through API v1's `create_bid`: which key created it (a key sees
    only its own bids), the caller's own id for it and where to tell it of status changes."""

    exchange = models.OneToOneField("exchange.Exchange", models.CASCADE, primary_key=True,
                                    related_name="+", verbose_name=_("exchange"))
    api_key = models.ForeignKey(ApiKey, models.CASCADE, related_name="bids",
                                verbose_name=_("API key"))
    api_id = models.CharField(_("caller's id"), max_length=100, blank=True)
    callback_url = models.CharField(_("callback URL"), max_length=500, blank=True)
    # The direction's fields as the caller gave them (Premium's names: account1, cfgive8,
    # cf1...), sent back in each callback.
    fields = models.JSONField(_("fields given"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("bid created through the API")
        verbose_name_plural = _("bids created through the API")
        indexes = [models.Index(fields=["api_key", "created_at"], name="apibid_key_time")]

    def __str__(self) -> str:
        return f"#{self.pk}"


class BidCallback(models.Model):
    """One POST to a bid's `callback_url` about one status change; the worker sends it and
    retries with growing pauses until it is answered 2xx or the attempts run out."""

    bid = models.ForeignKey(ApiBid, models.CASCADE, related_name="callbacks",
                            verbose_name=_("bid"))
    status = models.CharField(_("status"), max_length=16)
    body = models.TextField(_("body"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("bid callback")
        verbose_name_plural = _("bid callbacks")
        indexes = [models.Index(fields=["next_attempt_at"], name="bidcallback_due")]

    def __str__(self) -> str:
        return f"{self.bid_id} {self.status}"
