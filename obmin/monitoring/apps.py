from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "obmin.monitoring"
    label = "monitoring"
    verbose_name = _("Monitoring export")

    def ready(self) -> None:
        from obmin.exchange.hooks import rates_changed
        from obmin.monitoring.models import ExportSettings
        from obmin.monitoring.snapshot import on_data_changed
        from obmin.partners.models import Partner

        # Rates, reserves and directions (the exchange room announces them), the export codes
        # and the exporter's settings: everything the built export depends on.
        rates_changed.connect(on_data_changed, dispatch_uid="monitoring_rates_changed")
        for model in (Partner, ExportSettings):
            post_save.connect(on_data_changed, sender=model,
                              dispatch_uid=f"monitoring_{model.__name__}_save")
            post_delete.connect(on_data_changed, sender=model,
                                dispatch_uid=f"monitoring_{model.__name__}_delete")
