"""The rewards room: reward rules, the partner ledger, payouts."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RewardsConfig(AppConfig):
    name = "obmin.rewards"
    label = "rewards"
    verbose_name = _("Rewards and payouts")

    def ready(self) -> None:
        from obmin.audit.services import audit_rule_changes
        from obmin.exchange.hooks import exchange_status_changed
        from obmin.rewards.models import (
            PayoutMethod,
            RewardLevel,
            RewardOverride,
            RewardProgram,
            RiskSettings,
        )
        from obmin.rewards.services import reward_sync_on_status_change

        # The one path from a status change to the ledger: exchange_set_status sends this
        # inside its transaction, with the exchange row locked (docs/architecture.md).
        exchange_status_changed.connect(reward_sync_on_status_change,
                                        dispatch_uid="rewards.reward_sync")
        # The operator's rules go into the audit trail, before and after, whoever edits them.
        audit_rule_changes(RewardProgram, RewardLevel, RewardOverride, PayoutMethod, RiskSettings)
