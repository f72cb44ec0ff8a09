from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class RatesConfig(AppConfig):
    name = "obmin.rates"
    label = "rates"
    verbose_name = _("Market rates")

    def ready(self) -> None:
        from obmin.rates.models import MarketRate
        from obmin.rates.services import market_rate_changed

        def on_market_rate(sender: object, instance: MarketRate, **kwargs: object) -> None:
            market_rate_changed(direction_id=instance.direction_id)

        # However a formula is set (admin, shell, tests), its direction follows at once.
        post_save.connect(on_market_rate, sender=MarketRate, weak=False,
                          dispatch_uid="rates_market_rate_save")
        post_delete.connect(on_market_rate, sender=MarketRate, weak=False,
                            dispatch_uid="rates_market_rate_delete")
