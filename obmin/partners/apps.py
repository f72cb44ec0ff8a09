from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save, pre_save
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    name = "obmin.partners"
    label = "partners"
    verbose_name = _("Partners")

    def ready(self) -> None:
        from obmin.exchange.signals import rates_changed
        from obmin.ops.demo import DEMO_STEPS
        from obmin.partners import demo
        from obmin.partners.models import Partner, ReferralSettings
        from obmin.partners.program import forget_program_settings
        from obmin.partners.routing import forget_routes
        from obmin.partners.selectors import forget_partner_code

        # The /ref/ hot path caches these; a change must reach the next click.
        rates_changed.connect(forget_routes, dispatch_uid="partners_forget_routes")
        for signal in (post_save, post_delete):
            signal.connect(forget_program_settings, sender=ReferralSettings,
                           dispatch_uid=f"partners_forget_program_{id(signal)}")

        def remember_old_code(sender, instance, **kwargs):  # type: ignore[no-untyped-def]
            # A changed referral code must stop resolving from the cache too.
            instance._old_ref_code = (
                Partner.objects.filter(pk=instance.pk).values_list("ref_code", flat=True).first()
                if instance.pk else None)

        def forget_code(sender, instance, **kwargs):  # type: ignore[no-untyped-def]
            forget_partner_code(instance.ref_code, getattr(instance, "_old_ref_code", None) or "")

        pre_save.connect(remember_old_code, sender=Partner, weak=False,
                         dispatch_uid="partners_remember_old_code")
        post_save.connect(forget_code, sender=Partner, weak=False,
                          dispatch_uid="partners_forget_code_save")
        post_delete.connect(forget_code, sender=Partner, weak=False,
                            dispatch_uid="partners_forget_code_delete")

        if demo.load_clicks not in DEMO_STEPS:
            DEMO_STEPS.append(demo.load_clicks)
