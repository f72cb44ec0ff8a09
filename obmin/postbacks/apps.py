"""The postbacks room: partners' server-to-server notifications of their events (contract §8)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PostbacksConfig(AppConfig):
    name = "obmin.postbacks"
    label = "postbacks"
    verbose_name = _("Postbacks")

    def ready(self) -> None:
        from obmin.exchange.hooks import exchange_created, exchange_status_changed
        from obmin.partners.hooks import clicks_stored
        from obmin.postbacks import receivers
        from obmin.rewards.hooks import ledger_entry_posted

        # Every event a partner can subscribe to, from the hook of the room where it happens;
        # each receiver queues the deliveries on commit (docs/architecture.md).
        exchange_created.connect(receivers.on_exchange_created,
                                 dispatch_uid="postbacks.exchange_created")
        exchange_status_changed.connect(receivers.on_exchange_status_changed,
                                        dispatch_uid="postbacks.exchange_success")
        ledger_entry_posted.connect(receivers.on_ledger_entry_posted,
                                    dispatch_uid="postbacks.ledger")
        clicks_stored.connect(receivers.on_clicks_stored, dispatch_uid="postbacks.clicks")
