"""The statistics room: click rollups and the one statistics service the cabinet, the partner
API, CSV downloads and the operator's overview all read."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatsConfig(AppConfig):
    name = "obmin.stats"
    label = "stats"
    verbose_name = _("Statistics")
