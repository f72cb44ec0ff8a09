from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    name = "obmin.ops"
    label = "ops"
    verbose_name = _("Operations")

    def ready(self) -> None:
        from obmin.exchange.hooks import exchange_status_changed
        from obmin.ops import alerts, checks  # noqa: F401  (checks registers the deploy checks)

        # The operator is told when a customer says paid (e-mail, webhook).
        exchange_status_changed.connect(alerts.alert_on_paid, weak=False,
                                        dispatch_uid="ops_alert_on_paid")
