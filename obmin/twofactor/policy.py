"""Who must have a second factor: the operator's policy (staff; partners from a balance).

In this room because the balance threshold reads the rewards ledger, which only rooms above
rewards may do."""

from __future__ import annotations

from typing import Any

from obmin.partners.models import Partner
from obmin.rewards.selectors import partner_balance
from obmin.twofactor.models import TwoFactorPolicy


def twofactor_required(user: Any) -> bool:
    """True when the policy makes this signed-in user set up a second factor."""
    if user is None or not user.is_authenticated:
        return False
    policy = TwoFactorPolicy.load()
    if user.is_staff and policy.staff_required:
        return True
    if policy.partner_balance_above is None:
        return False
    partner = Partner.objects.filter(user_id=user.pk).first()
    return partner is not None and partner_balance(partner) > policy.partner_balance_above
