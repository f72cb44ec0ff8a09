"""Postbacks: the URLs a partner wants called on events, its signing secret, and the deliveries
with every attempt (contract §8)."""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MAX_PER_PARTNER = 5
ANSWER_BYTES = 500


class Event(models.TextChoices):
    CLICK = "click", _("click")
    EXCHANGE_CREATED = "exchange.created", _("exchange created")
    EXCHANGE_SUCCESS = "exchange.success", _("exchange succeeded")
    REWARD_CREDITED = "reward.credited", _("reward credited")
    REWARD_REVERSED = "reward.reversed", _("reward reversed")
    PAYOUT_PAID = "payout.paid", _("payout paid")


# What a new postback subscribes to: everything but clicks (which may be many).
DEFAULT_EVENTS = [event.value for event in Event if event != Event.CLICK]


class Method(models.TextChoices):
    GET = "GET", _("GET (URL template with macros)")
    POST = "POST", _("POST (signed JSON)")


def new_secret() -> str:
    return secrets.token_hex(32)


class PostbackSecret(models.Model):
    """The partner's signing secret: every delivery carries an HMAC-SHA256 made with it."""

    partner = models.OneToOneField("partners.Partner", models.CASCADE, primary_key=True,
                                   related_name="postback_secret", verbose_name=_("partner"))
    secret = models.CharField(_("signing secret"), max_length=64, default=new_secret)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("postback signing secret")
        verbose_name_plural = _("postback signing secrets")

    def __str__(self) -> str:
        return str(self.partner)


class Postback(models.Model):
    """One URL of a partner's, called on the events it subscribes to."""

    partner = models.ForeignKey("partners.Partner", models.CASCADE, related_name="postbacks",
                                verbose_name=_("partner"))
    url = models.CharField(_("URL"), max_length=2000)
    method = models.CharField(_("method"), max_length=4, choices=Method.choices,
                              default=Method.GET)
    events = models.JSONField(_("events"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("postback")
        verbose_name_plural = _("postbacks")
        ordering = ["partner", "id"]

    def __str__(self) -> str:
        return f"{self.method} {self.url}"

    def wants(self, event: str) -> bool:
        return self.is_active and event in self.events

    @property
    def event_labels(self) -> list[str]:
        return [str(Event(name).label) for name in self.events if name in Event.values]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")


class PostbackDelivery(models.Model):
    """One event for one postback: the request is fixed when queued, so every retry sends the
    same URL, body and delivery id."""

    uid = models.UUIDField(_("delivery id"), default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey("partners.Partner", models.CASCADE,
                                related_name="postback_deliveries", verbose_name=_("partner"))
    postback = models.ForeignKey(Postback, models.CASCADE, related_name="deliveries",
                                 verbose_name=_("postback"))
    event = models.CharField(_("event"), max_length=32, choices=Event.choices)
    is_test = models.BooleanField(_("test event"), default=False)
    method = models.CharField(_("method"), max_length=4, choices=Method.choices)
    url = models.TextField(_("URL"))
    body = models.TextField(_("body"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Pending: when the next attempt is due. The last attempt is made at `give_up_at`.
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    give_up_at = models.DateTimeField(_("retried until"))
    # A worker sending it now holds it until then (so another worker leaves it alone).
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    last_result = models.CharField(_("last result"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("postback delivery")
        verbose_name_plural = _("postback deliveries")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="postback_delivery_due"),
            models.Index(fields=["partner", "id"], name="postback_delivery_partner"),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk}"


class PostbackAttempt(models.Model):
    """One try of a delivery: when, the HTTP status (none when no answer came), the first 500
    bytes of the answer or why there was none."""

    delivery = models.ForeignKey(PostbackDelivery, models.CASCADE, related_name="attempt_log",
                                 verbose_name=_("delivery"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    answer = models.TextField(_("answer (first 500 bytes)"), blank=True)
    error = models.CharField(_("error"), max_length=255, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration, ms"), default=0)

    class Meta:
        verbose_name = _("postback attempt")
        verbose_name_plural = _("postback attempts")
        ordering = ["delivery", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id}: {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
