from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "obmin.exchange"
    label = "exchange"
    verbose_name = _("Exchanger")

    def ready(self) -> None:
        from obmin.exchange import notify
        from obmin.exchange.hooks import exchange_created, exchange_status_changed, rates_changed
        from obmin.exchange.models import Currency, Direction

        # The customer's e-mails: the page's link on creation, and every change of status.
        exchange_created.connect(notify.email_on_create, weak=False,
                                 dispatch_uid="exchange_customer_email_created")
        exchange_status_changed.connect(notify.email_on_status, weak=False,
                                        dispatch_uid="exchange_customer_email_status")

        def announce(sender: object, **kwargs: object) -> None:
            rates_changed.send(sender=sender)

        for model in (Currency, Direction):
            post_save.connect(announce, sender=model, weak=False,
                              dispatch_uid=f"rates_changed_{model.__name__}_save")
            post_delete.connect(announce, sender=model, weak=False,
                                dispatch_uid=f"rates_changed_{model.__name__}_delete")
