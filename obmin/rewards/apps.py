from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RewardsConfig(AppConfig):
    name = "obmin.rewards"
    label = "rewards"
    verbose_name = _("Rewards and payouts")

    def ready(self) -> None:
        # Connects reward accrual to exchange status changes.
        from obmin.rewards import services  # noqa: F401
