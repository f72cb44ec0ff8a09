"""Writing the audit trail: `audit_record` for one action, `audit_rule_changes` for rule tables.

Every room may write here (the room sits just above lib). An entry is written in the caller's
transaction, so an action rolled back leaves no trace of having happened.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save
from django.forms.models import model_to_dict

from obmin.audit.context import current_actor, current_address
from obmin.audit.models import AuditAction, AuditEntry


def snapshot(obj: models.Model, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The row's editable fields by name (foreign keys as ids), for `before` and `after`."""
    values = model_to_dict(obj, exclude=list(exclude))
    return {name: (list(value) if isinstance(value, set | tuple) else value)
            for name, value in values.items()}


def audit_record(*, action: AuditAction | str, obj: models.Model | None = None,
                 object_type: str = "", object_id: Any = "", object_repr: str = "",
                 before: Any = None, after: Any = None, actor: str | None = None,
                 address: str | None = None) -> AuditEntry:
    """Appends one entry. The actor and address default to the current request's (`system`
    and none outside a request); `obj` names the object unless the caller does."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
    return AuditEntry.objects.create(
        actor=(actor or current_actor())[:200],
        address=(current_address() if address is None else address)[:45],
        action=str(action), object_type=object_type[:64], object_id=str(object_id)[:64],
        object_repr=object_repr[:200], before=before, after=after)


def _remember_before(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    old = sender._default_manager.filter(pk=instance.pk).first() if instance.pk else None
    instance._audit_before = snapshot(old) if old is not None else None  # type: ignore[attr-defined]


def _record_save(sender: type[models.Model], instance: models.Model, created: bool,
                 raw: bool = False, **kwargs: Any) -> None:
    if raw:  # fixtures
        return
    before = getattr(instance, "_audit_before", None)
    after = snapshot(instance)
    if before == after:
        return
    audit_record(action=AuditAction.RULE_CREATED if before is None else AuditAction.RULE_CHANGED,
                 obj=instance, before=before, after=after)


def _record_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    audit_record(action=AuditAction.RULE_DELETED, obj=instance, before=snapshot(instance))


def audit_rule_changes(*models_: type[models.Model]) -> None:
    """Records every save and delete of these models (the operator's rule tables) with the
    row before and after; connected in the owning room's `AppConfig.ready`."""
    for model in models_:
        label = model._meta.label_lower
        pre_save.connect(_remember_before, sender=model, dispatch_uid=f"audit_pre_{label}")
        post_save.connect(_record_save, sender=model, dispatch_uid=f"audit_post_{label}")
        post_delete.connect(_record_delete, sender=model, dispatch_uid=f"audit_del_{label}")
