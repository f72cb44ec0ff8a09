"""The rewards room: reward rules, the partner ledger, payouts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RewardsConfig(AppConfig):
    name = "obmin.rewards"
    label = "rewards"
    verbose_name = _("Rewards and payouts")

    def ready(self) -> None:
        from obmin.ops.demo import DEMO_STEPS

        # Importing services connects reward accrual to exchange status changes.
        from obmin.rewards import demo, services  # noqa: F401

        # After the exchanges (and clicks) it builds on: apps are ready in INSTALLED_APPS order.
        if demo.load_rewards not in DEMO_STEPS:
            DEMO_STEPS.append(demo.load_rewards)
