"""The partner's page in the back office with what the rooms above partners know of it.

`partners/admin.py` cannot read balances, payouts or API keys (they live in higher rooms), so
the page is completed here, in a room allowed to read them all: the same admin, plus a summary.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from obmin.lib.admin import amount_text, short_time
from obmin.partner_api.selectors import partner_api_keys
from obmin.partners.admin import PartnerAdmin
from obmin.partners.models import Partner
from obmin.passkeys.services import passkeys_of
from obmin.rewards.selectors import partner_balances, partner_pending_payouts
from obmin.stats.periods import Period, period_of, zone_of
from obmin.stats.selectors import figures
from obmin.twofactor.services import primary_devices, recovery_codes_left

SUMMARY_DAYS = 30

# The app list beside every page took 300 of 1280 px; the home page and the breadcrumbs
# lead to the same places, and the lists need the width.
admin.site.enable_nav_sidebar = False
# The index leads to the operator's desk (with how many exchanges wait) and the overview.
admin.site.index_template = "ops/admin_index.html"

admin.site.unregister(Partner)


@admin.register(Partner)
class PartnerSummaryAdmin(PartnerAdmin):
    readonly_fields = [*PartnerAdmin.readonly_fields, "balance", "pending_rewards",
                       "second_tier", "pending_payouts", "last_30_days", "api_keys",
                       "two_factor", "related_lists"]

    @admin.display(description=_("balance, USD"))
    def balance(self, obj: Partner) -> str:
        return amount_text(partner_balances(obj.pk).payable, 2) if obj.pk else "-"

    @admin.display(description=_("pending rewards, USD"))
    def pending_rewards(self, obj: Partner) -> str:
        return amount_text(partner_balances(obj.pk).pending, 2) if obj.pk else "-"

    @admin.display(description=_("second tier"))
    def second_tier(self, obj: Partner) -> str:
        if not obj.pk:
            return "-"
        brought = obj.referred_partners.count()
        return gettext("brought %(count)d partner(s); second-tier rewards %(amount)s USD") % {
            "count": brought, "amount": amount_text(partner_balances(obj.pk).second_tier, 2)}

    @admin.display(description=_("pending payouts"))
    def pending_payouts(self, obj: Partner) -> str:
        if not obj.pk:
            return "-"
        count, held = partner_pending_payouts(obj)
        return gettext("%(count)d, holding %(amount)s USD") % {
            "count": count, "amount": amount_text(held, 2)}

    @staticmethod
    def _period(obj: Partner) -> Period:
        zone = zone_of(obj.time_zone)
        return period_of(f"{SUMMARY_DAYS}d", today=timezone.now().astimezone(zone).date(),
                         zone=zone)

    @admin.display(description=_("last 30 days"))
    def last_30_days(self, obj: Partner) -> str:
        """The cabinet's own "30 days" (the default period of its statistics), read from the
        same service: the partner's local days, today included."""
        if not obj.pk:
            return "-"
        period = self._period(obj)
        totals = figures(partner_id=obj.pk, start=period.start, end=period.end)
        return gettext("%(clicks)s clicks (%(unique)s unique), %(exchanges)s exchanges "
                       "(%(successful)s successful), turnover %(turnover)s USD, rewards "
                       "%(rewards)s USD; days in %(zone)s, as the partner's cabinet counts "
                       "them") % {
            "clicks": totals.clicks, "unique": totals.unique_clicks,
            "exchanges": totals.exchanges, "successful": totals.successful,
            "turnover": amount_text(totals.turnover, 2),
            "rewards": amount_text(totals.rewards, 2), "zone": str(period.zone)}

    @admin.display(description=_("API keys"))
    def api_keys(self, obj: Partner) -> SafeString | str:
        keys = list(partner_api_keys(obj)) if obj.pk else []
        if not keys:
            return gettext("none")
        return format_html_join(
            "", '<div><a href="{}"><code>{}…</code></a> {} {}</div>',
            ((reverse("admin:partner_api_apikey_change", args=[key.pk]), key.key_start,
              key.name, gettext("revoked") if key.revoked_at else
              (gettext("test") if key.is_test else "")) for key in keys))

    @admin.display(description=_("Two-factor sign-in"))
    def two_factor(self, obj: Partner) -> SafeString | str:
        """What guards the partner's sign-in: its app, its passkeys (listed, with the
        operator's removal of a lost one, in the passkey list) and its recovery codes."""
        if not obj.pk:
            return "-"
        user = obj.user
        app = any(isinstance(device, TOTPDevice) for device in primary_devices(user))
        passkeys = list(passkeys_of(user))
        used = passkeys[0].last_used_at if passkeys else None
        text = gettext("authenticator app: %(app)s; passkeys: %(count)d, last used %(used)s; "
                       "recovery codes left: %(codes)d") % {
            "app": gettext("on") if app else gettext("off"), "count": len(passkeys),
            "used": short_time(used) if used else gettext("never"),
            "codes": recovery_codes_left(user)}
        passkey_list = (f"{reverse('admin:django_otp_webauthn_webauthncredential_changelist')}"
                        f"?user={user.pk}")
        return format_html('{} · <a href="{}">{}</a>', text, passkey_list,
                           gettext("its passkeys"))

    @admin.display(description=_("lists"))
    def related_lists(self, obj: Partner) -> SafeString | str:
        if not obj.pk:
            return "-"
        # The exchanges of the figures beside it: the same 30 local days, from their first
        # instant (in UTC, the admin's time).
        since = self._period(obj).start.strftime("%Y-%m-%d %H:%M:%S")
        clicks = f"{reverse('admin:partners_click_changelist')}?partner={obj.pk}"
        exchanges = (f"{reverse('admin:exchange_exchange_changelist')}?partner__id__exact={obj.pk}"
                     f"&created_at__gte={since}")
        return format_html('<a href="{}">{}</a> · <a href="{}">{}</a>',
                           clicks, gettext("its clicks"), exchanges,
                           gettext("its exchanges (30 days)"))
