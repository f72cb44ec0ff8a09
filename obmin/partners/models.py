"""Partner accounts and the clicks on their referral links."""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from obmin.lib.models import SingletonModel, TrafficSource
from obmin.lib.site import public_url

CODE_ALPHABET = string.ascii_lowercase + string.digits
# What the /ref/ view accepts as a code: a code outside it could be saved but its link would
# never record a click.
CODE_PATTERN = r"[A-Za-z0-9_-]{1,32}"
code_validator = RegexValidator(
    rf"\A{CODE_PATTERN}\Z",
    _("Use 1 to 32 Latin letters, digits, “-” or “_”."), code="invalid_code")


# Codes a partner may not choose: the site's top-level paths (a test checks the list against the
# URL configuration) and names that would pass a partner off as the exchanger itself.
RESERVED_CODES = frozenset({
    "admin", "api", "cabinet", "exchange", "health", "i18n", "metrics", "partners", "ref",
    "service", "staff", "static", "media",
    "account", "help", "info", "login", "logout", "signup", "register", "root", "system",
    "noreply", "no-reply", "abuse", "postmaster", "webmaster", "bestchange", "exchanger",
})
# A chosen code containing one of these (ignoring case, "-" and "_") is refused too.
IMPERSONATING_WORDS = ("obmin", "admin", "support", "staff", "official", "moderator",
                       "operator", "security", "helpdesk")


# Digits read as the letters they stand in for (`adm1n`, `0bmin`, `5upport`); 1 as i and as l.
_LETTERS_FOR_DIGITS = (str.maketrans("013457", "oieast"), str.maketrans("013457", "oleast"))


def code_reserved(code: str) -> bool:
    """Whether a partner may not choose `code` as its vanity referral code."""
    folded = code.lower()
    bare = folded.replace("-", "").replace("_", "")
    spelled = {bare.translate(table) for table in _LETTERS_FOR_DIGITS}
    return (folded in RESERVED_CODES or bare in RESERVED_CODES
            or any(word in text for word in IMPERSONATING_WORDS for text in (bare, *spelled)))


def new_partner_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


class Partner(models.Model):
    """A partner: an affiliate, or a monitoring site (monitors are partners too)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="partner",
                                verbose_name=_("user"))
    ref_code = models.CharField(_("referral code"), max_length=32, unique=True,
                                default=new_partner_code, validators=[code_validator])
    # A new partner's export code is its referral code; codes are unique across both kinds,
    # ignoring case (`clean`; the database holds each kind unique ignoring case).
    export_code = models.CharField(_("export code"), max_length=32, unique=True,
                                   validators=[code_validator])
    export_enabled = models.BooleanField(_("export enabled"), default=True)
    is_blocked = models.BooleanField(
        _("blocked"), default=False,
        help_text=_("A blocked partner's link still redirects but attributes nothing."))
    # Shown to the blocked partner on every cabinet page.
    block_reason = models.CharField(
        _("reason for the block"), max_length=300, blank=True,
        help_text=_("Shown to the partner in the cabinet while the account is blocked."))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # The partner's own settings, from its profile in the cabinet.
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True,
        help_text=_("IANA name, such as Europe/Kyiv; empty: the browser's, else UTC."))
    language = models.CharField(_("language"), max_length=8, blank=True,
                                choices=settings.LANGUAGES)
    # The operator marks monitors: only they are shown the export links in the cabinet.
    is_monitor = models.BooleanField(
        _("monitoring site"), default=False,
        help_text=_("Monitors see their rate export links in the cabinet."))
    # A partner may choose its own referral code once (a vanity code); then it is fixed.
    ref_code_chosen = models.BooleanField(_("referral code chosen by the partner"),
                                          default=False)
    # Second tier: the partner whose link this partner followed before signing up.
    referred_by = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="referred_partners",
        verbose_name=_("referred by"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        constraints = [
            # Codes are looked up ignoring case: two that differ in case only would be one link.
            models.UniqueConstraint(Lower("ref_code"), name="partner_ref_code_ci_unique"),
            models.UniqueConstraint(Lower("export_code"), name="partner_export_code_ci_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user.email or self.user.get_username()} ({self.ref_code})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.export_code:
            self.export_code = self.ref_code
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """Refuses a code another partner has as either kind, in any case.

        The partner's own referral and export codes may be equal (a new partner's are).
        """
        super().clean()
        errors = {}
        for field in ("ref_code", "export_code"):
            code = getattr(self, field)
            # A malformed code has its own error from the field's validator.
            if code and re.fullmatch(CODE_PATTERN, code) and code_taken(
                    code, exclude_partner_id=self.pk):
                errors[field] = ValidationError(
                    _("The code %(code)s belongs to another partner (codes are compared "
                      "ignoring case)."), code="code_taken", params={"code": code})
        if errors:
            raise ValidationError(errors)

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def referral_link(self) -> str:
        return public_url(f"/ref/{self.ref_code}/")


def code_taken(code: str, *, exclude_partner_id: int | None = None) -> bool:
    """Referral, export and old referral codes share one namespace: a code names one partner
    only, and a code a partner gave up is never given to another."""
    others = Partner.objects.filter(Q(ref_code__iexact=code) | Q(export_code__iexact=code))
    old = OldReferralCode.objects.filter(code__iexact=code)
    if exclude_partner_id is not None:
        others = others.exclude(pk=exclude_partner_id)
        old = old.exclude(partner_id=exclude_partner_id)
    return others.exists() or old.exists()


class OldReferralCode(models.Model):
    """A referral code the partner had before it chose another: links already published with
    it still land, count and attribute to the partner (`selectors.partner_for_code`).

    A deleted partner's codes stay here without a partner (`services.partner_codes_retire`):
    its published links name nobody, and no other partner can ever take them."""

    partner = models.ForeignKey(Partner, models.SET_NULL, null=True, blank=True,
                                related_name="old_codes", verbose_name=_("partner"))
    code = models.CharField(_("code"), max_length=32, unique=True)
    replaced_at = models.DateTimeField(_("replaced"), default=timezone.now)

    class Meta:
        ordering = ["replaced_at", "id"]
        verbose_name = _("old referral code")
        verbose_name_plural = _("old referral codes")
        constraints = [
            models.UniqueConstraint(Lower("code"), name="old_referral_code_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.code


class Click(TrafficSource):
    """One visit through a partner's referral link, as the API's `get_links` reports it."""

    # Verbose names read as Django's defaults did in English; they exist to be translated.
    # No index of its own: (partner, created_at) below serves every look-up by partner, and
    # each index is one more write per click.
    partner = models.ForeignKey(Partner, models.CASCADE, related_name="clicks",
                                verbose_name=_("partner"), db_index=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    browser = models.CharField(_("browser"), max_length=64, default="Unknown")
    ip = models.CharField(_("ip"), max_length=45, blank=True)
    referrer = models.CharField(_("referrer"), max_length=1024, blank=True)
    user_hash = models.CharField(_("user hash"), max_length=32, blank=True)
    query_string = models.CharField(_("query string"), max_length=2048, blank=True)
    is_bot = models.BooleanField(_("is bot"), default=False)
    # First click of this visitor for this partner on this UTC day (unique clicks).
    # Crawlers' clicks are never unique: they are left out of every partner figure.
    is_unique = models.BooleanField(_("is unique"), default=True)
    # The User-Agent as sent (truncated), so the operator can judge a click flagged as a bot.
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    # Random, given by the redirect: a click queued or spooled and delivered twice is stored
    # once (obmin.partners.ingest). Clicks stored before it existed have none.
    uid = models.UUIDField(_("click id"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("click")
        verbose_name_plural = _("clicks")
        constraints = [
            # With the time: PostgreSQL partitions clicks by month, and a unique key of a
            # partitioned table must include the partition key.
            models.UniqueConstraint(fields=["uid", "created_at"], name="click_uid_unique"),
        ]
        indexes = [
            # Also answers the rare "has this visitor clicked this partner's link today?" that
            # the visitor's cookies leave open; an index for it would cost every click.
            models.Index(fields=["partner", "created_at"], name="click_partner_time"),
        ]

    def __str__(self) -> str:
        return f"click #{self.pk} for {self.partner_id}"


class PartnerSignIn(models.Model):
    """A partner's sign-in to the cabinet: the network and the device it came from, which the
    risk rules compare with its customers' (a partner referring itself)."""

    partner = models.ForeignKey(Partner, models.CASCADE, related_name="sign_ins",
                                verbose_name=_("partner"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    # The address masked as clicks' are (IPv4 /24, IPv6 /48): the network, not the person.
    network = models.CharField(_("network"), max_length=45, blank=True, db_index=True)
    # The browser's `obmin_vid` (the visitor id clicks and exchanges carry), "" if none.
    user_hash = models.CharField(_("device (visitor id)"), max_length=32, blank=True,
                                 db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("partner sign-in")
        verbose_name_plural = _("partner sign-ins")
        indexes = [models.Index(fields=["partner", "created_at"], name="signin_partner_time")]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.created_at:%Y-%m-%d %H:%M} {self.network}"


class ClickDay(models.Model):
    """One partner's clicks on one UTC day, once the raw clicks are archived (deleted).

    Statistics add these to the live clicks, so archiving never changes a figure.
    """

    partner = models.ForeignKey(Partner, models.CASCADE, related_name="click_days",
                                verbose_name=_("partner"))
    day = models.DateField(_("day (UTC)"))
    clicks = models.PositiveIntegerField(_("clicks"), default=0, help_text=_("Crawlers excluded."))
    unique_clicks = models.PositiveIntegerField(_("unique clicks"), default=0)
    bot_clicks = models.PositiveIntegerField(_("crawler clicks"), default=0)

    class Meta:
        ordering = ["-day", "partner_id"]
        verbose_name = _("archived clicks of a day")
        verbose_name_plural = _("archived clicks by day")
        constraints = [
            models.UniqueConstraint(fields=["partner", "day"], name="click_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.day}: {self.clicks}"


class ReferralSettings(SingletonModel):
    """The operator's settings of the referral program: one row (pk 1), edited in the admin.

    Read through `obmin.partners.program.program_settings()`, which caches it (a save drops
    the cache: `PartnersConfig.ready`).
    """

    cookie_days = models.PositiveIntegerField(
        _("referral cookie lifetime, days"), default=365,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("How long after a click the visitor's exchanges are attributed to the "
                    "partner."))
    mask_ips = models.BooleanField(
        _("mask IP addresses"), default=True,
        help_text=_("Store clicks' IPv4 without the last octet and IPv6 without the last 80 "
                    "bits."))
    trust_forwarded_for = models.BooleanField(
        _("trust X-Forwarded-For"), default=False,
        help_text=_("Only when the site runs behind a proxy of yours that sets this header; "
                    "otherwise anyone could choose the IP address stored."))
    archive_after_days = models.PositiveIntegerField(
        _("archive clicks older than, days"), default=0,
        help_text=_("`obmin clicks archive` folds older clicks into daily totals; 0 keeps "
                    "every click."))

    class Meta:
        verbose_name = _("referral program settings")
        verbose_name_plural = _("referral program settings")

    def __str__(self) -> str:
        return str(_("Referral program settings"))
