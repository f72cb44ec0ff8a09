"""The statistics room: click rollups and the one statistics service the cabinet, the partner
API, CSV downloads and the operator's overview all read."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class StatsConfig(AppConfig):
    name = "obmin.stats"
    label = "stats"
    verbose_name = _("Statistics")

    def ready(self) -> None:
        from obmin.stats.triggers import stale_triggers_install

        # The triggers marking stale rollup hours, after every migrate (obmin.stats.triggers).
        post_migrate.connect(stale_triggers_install, sender=self,
                             dispatch_uid="stats_stale_triggers")
