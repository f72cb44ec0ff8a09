"""The audit room: the append-only trail of money and permission actions."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "obmin.audit"
    label = "audit"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        from obmin.audit.staff import watch_staff_permissions

        # Staff permissions change in Django's own user admin, which calls no service of
        # ours: the trail follows the user rows and their groups and permissions instead.
        watch_staff_permissions()
