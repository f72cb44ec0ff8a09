from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnerApiConfig(AppConfig):
    name = "obmin.partner_api"
    label = "partner_api"
    verbose_name = _("Partner API")

    def ready(self) -> None:
        from obmin.exchange.hooks import exchange_status_changed
        from obmin.partner_api.v1.bids import bid_callback_on_status_change

        # API v1 bids with a callback_url: one POST queued per status change.
        exchange_status_changed.connect(bid_callback_on_status_change,
                                        dispatch_uid="partner_api.bid_callback")
