"""Staff permission changes, followed on the user rows: Django's own user admin changes them.

Recorded: a user's staff, superuser and active flags, and its groups and permissions, before
and after (partners' users are followed too: a partner made staff is a permission change).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_save, pre_save

from obmin.audit.models import AuditAction
from obmin.audit.services import audit_record

FLAGS = ("is_staff", "is_superuser", "is_active")


def _flags(user: Any) -> dict[str, bool]:
    return {flag: bool(getattr(user, flag)) for flag in FLAGS}


def _flags_untouched(update_fields: Any) -> bool:
    return update_fields is not None and not set(update_fields) & set(FLAGS)


def _remember_flags(sender: Any, instance: Any, update_fields: Any = None,
                    **kwargs: Any) -> None:
    if _flags_untouched(update_fields):  # a sign-in's last_login: no query
        return
    old = sender._default_manager.filter(pk=instance.pk).first() if instance.pk else None
    instance._audit_flags = _flags(old) if old is not None else None


def _record_flags(sender: Any, instance: Any, created: bool, raw: bool = False,
                  update_fields: Any = None, **kwargs: Any) -> None:
    if _flags_untouched(update_fields):
        return
    before = getattr(instance, "_audit_flags", None)
    after = _flags(instance)
    if raw or before == after or (before is None and not (after["is_staff"]
                                                          or after["is_superuser"])):
        return  # a new partner's user is no permission change
    audit_record(action=AuditAction.STAFF_CHANGED, obj=instance, before=before, after=after,
                 object_repr=instance.get_username())


def _names(relation: str, instance: Any) -> list[str]:
    if relation == "groups":
        return sorted(instance.groups.values_list("name", flat=True))
    return sorted(f"{app}.{codename}" for app, codename in
                  instance.user_permissions.values_list("content_type__app_label", "codename"))


def _record_relation(relation: str) -> Any:
    def receiver(sender: Any, instance: Any, action: str, reverse: bool, **kwargs: Any) -> None:
        if reverse or action not in ("pre_add", "pre_remove", "pre_clear", "post_add",
                                     "post_remove", "post_clear"):
            return
        if action.startswith("pre_"):
            instance._audit_relation = _names(relation, instance)
            return
        before = getattr(instance, "_audit_relation", None)
        after = _names(relation, instance)
        if before != after:
            audit_record(action=AuditAction.STAFF_CHANGED, obj=instance,
                         object_repr=instance.get_username(),
                         before={relation: before}, after={relation: after})
    return receiver


_groups_changed = _record_relation("groups")
_permissions_changed = _record_relation("user_permissions")


def watch_staff_permissions() -> None:
    user_model = get_user_model()
    pre_save.connect(_remember_flags, sender=user_model, dispatch_uid="audit_staff_pre")
    post_save.connect(_record_flags, sender=user_model, dispatch_uid="audit_staff_post")
    m2m_changed.connect(_groups_changed, sender=user_model.groups.through,
                        dispatch_uid="audit_staff_groups")
    m2m_changed.connect(_permissions_changed, sender=user_model.user_permissions.through,
                        dispatch_uid="audit_staff_permissions")
