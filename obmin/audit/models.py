"""The audit trail: who did what to which money or permission, from where, before and after.

Entries are only inserted, like the partner ledger's: `save()` on an existing one, `delete()`,
and `QuerySet.update/delete` raise, and the admin shows them read-only.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    REWARD_HELD = "reward.held", _("reward held for review")
    REWARD_APPROVED = "reward.approved", _("reward approved")
    REWARD_REJECTED = "reward.rejected", _("reward rejected")
    PAYOUT_REQUESTED = "payout.requested", _("payout requested")
    PAYOUT_APPROVED = "payout.approved", _("payout approved")
    PAYOUT_PAID = "payout.paid", _("payout marked paid")
    PAYOUT_REFUSED = "payout.refused", _("payout refused")
    PAYOUT_CANCELLED = "payout.cancelled", _("payout cancelled")
    WALLET_ADDED = "wallet.added", _("payout wallet added")
    WALLET_CHANGED = "wallet.changed", _("payout wallet changed")
    WALLET_REMOVED = "wallet.removed", _("payout wallet removed")
    APIKEY_CREATED = "apikey.created", _("API key created")
    APIKEY_REVOKED = "apikey.revoked", _("API key revoked")
    STAFF_CHANGED = "staff.changed", _("staff permissions changed")
    PASSKEY_ADDED = "passkey.added", _("passkey added")
    PASSKEY_REMOVED = "passkey.removed", _("passkey removed")
    PASSKEY_USED = "passkey.used", _("passkey used")
    RULE_CREATED = "rule.created", _("rule created")
    RULE_CHANGED = "rule.changed", _("rule changed")
    RULE_DELETED = "rule.deleted", _("rule deleted")
    TWOFACTOR_ENABLED = "twofactor.enabled", _("two-factor sign-in turned on")
    TWOFACTOR_DISABLED = "twofactor.disabled", _("two-factor sign-in turned off")
    TWOFACTOR_RESET = "twofactor.reset", _("two-factor sign-in reset by staff")
    RECOVERY_CODES_NEW = "twofactor.codes_new", _("recovery codes regenerated")
    RECOVERY_CODE_USED = "twofactor.code_used", _("recovery code used")
    TWOFACTOR_FAILED = "twofactor.failed", _("wrong second-factor code")


class AuditImmutable(Exception):
    """Raised on any attempt to change or remove an audit entry through the ORM."""


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditImmutable("Audit entries are never changed.")

    def delete(self) -> NoReturn:
        raise AuditImmutable("Audit entries are never removed.")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditImmutable("Audit entries are never changed.")


class AuditEntry(models.Model):
    """One money or permission action. Inserted once, never changed or removed."""

    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    # `staff:carol`, `partner:alice@example.com`, `system` (the worker, a command).
    actor = models.CharField(_("actor"), max_length=200, db_index=True)
    address = models.CharField(_("address"), max_length=45, blank=True)
    action = models.CharField(_("action"), max_length=32, choices=AuditAction.choices,
                              db_index=True)
    # The object acted on: its model's label (`rewards.payout`), id and a readable name.
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("after"), null=True, blank=True, encoder=DjangoJSONEncoder)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutable("Audit entries are never changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditImmutable("Audit entries are never removed.")
