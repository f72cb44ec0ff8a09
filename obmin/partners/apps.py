"""The partners room: partner accounts, /ref/ links and clicks, attribution."""

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save, pre_delete
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    name = "obmin.partners"
    label = "partners"
    verbose_name = _("Partners")

    def ready(self) -> None:
        from obmin.exchange.hooks import rates_changed, set_referrer_lookup
        from obmin.lib.ipmask import set_forwarded_for_trust
        from obmin.partners.attribution import forwarded_for_trusted, partner_for_exchange
        from obmin.partners.landing import forget_direction_table
        from obmin.partners.models import Partner, ReferralSettings
        from obmin.partners.program import forget_program_settings
        from obmin.partners.services import partner_codes_retire
        from obmin.partners.signins import record_sign_in

        # The exchange page asks who referred a new exchange.
        set_referrer_lookup(partner_for_exchange)
        # Every client address (limits, lockout, logs) believes X-Forwarded-For as the
        # operator's referral settings say.
        set_forwarded_for_trust(forwarded_for_trusted)
        # The /ref/ hot path caches the direction table and the program settings; a change
        # must reach the next click. (Partners' codes are dropped by the services that change
        # them: partners.services.)
        rates_changed.connect(forget_direction_table, dispatch_uid="partners_forget_directions")
        # Where partners sign in from, for the risk rules (a partner referring itself).
        user_logged_in.connect(record_sign_in, dispatch_uid="partners_record_sign_in")
        # A deleted partner's codes are never given to another (also when its user goes).
        pre_delete.connect(lambda sender, instance, **kwargs: partner_codes_retire(
            partner=instance), sender=Partner, weak=False, dispatch_uid="partners_retire_codes")
        for signal in (post_save, post_delete):
            signal.connect(forget_program_settings, sender=ReferralSettings,
                           dispatch_uid=f"partners_forget_program_{id(signal)}")
