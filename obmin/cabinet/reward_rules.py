"""The reward rules in plain words: those that apply to a partner, for the cabinet's payouts
page, and the program's general ones, for the public partner program page.

Reads the rules through the rewards room; only the prose lives here.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from obmin.exchange.models import Direction
from obmin.lib.money import plain, quantize_down
from obmin.partners.models import Partner
from obmin.rewards.models import (
    ACCOUNTING_CURRENCY,
    OverrideKind,
    RewardBase,
    RewardLevel,
    RewardOverride,
    RewardProgram,
)
from obmin.rewards.selectors import partner_turnover


def _describe_override(override: RewardOverride) -> str:
    if override.kind == OverrideKind.NONE:
        return _("no reward")
    if override.kind == OverrideKind.FIXED:
        return _("a fixed %(sum)s %(currency)s per exchange") % {
            "sum": plain(override.value), "currency": ACCOUNTING_CURRENCY}
    return _("%(percent)s%%, whatever your level") % {"percent": plain(override.value)}


def describe_reward_rules(partner: Partner | None) -> list[str]:
    """The rules that apply to this partner, in plain words, for the cabinet; with no partner,
    the rules every new partner starts with (the public program page).

    Only rules that can apply are told: a rule for the partner alone hides the levels and the
    directions' rules it replaces (the precedence of `override_for`).
    """
    program = RewardProgram.load()
    if program.reward_base == RewardBase.PROFIT:
        intro = _("You earn a share of the exchanger's profit on every successful exchange made "
                  "by a visitor you referred, counted in %(currency)s at the exchange's rates.")
    else:
        intro = _("You earn a share of the amount of every successful exchange made by a "
                  "visitor you referred, counted in %(currency)s at the exchange's rates.")
    lines = [intro % {"currency": ACCOUNTING_CURRENCY}]
    mine = Q(partner_id=partner.pk) if partner is not None else Q(pk__in=[])
    overrides = list(RewardOverride.objects.filter(mine | Q(partner__isnull=True)).order_by("id"))
    own = next((o for o in overrides if o.partner_id and not o.direction_id), None)
    pairs = [o for o in overrides if o.partner_id and o.direction_id]
    paired = {o.direction_id for o in pairs}
    general = [] if own else [o for o in overrides
                              if not o.partner_id and o.direction_id not in paired]
    names: dict[int | None, str] = {d.pk: str(d) for d in Direction.objects.select_related(
        "currency_give", "currency_get").filter(pk__in=[o.direction_id for o in pairs + general])}
    for override in pairs + general:
        lines.append(_("For exchanges %(direction)s: %(rule)s.")
                     % {"direction": names[override.direction_id],
                        "rule": _describe_override(override)})
    if own is not None:
        lines.append((_("For all your other exchanges: %(rule)s.") if pairs
                      else _("For all your exchanges: %(rule)s."))
                     % {"rule": _describe_override(own)})
    else:
        if pairs or general:
            lines.append(_("For all other exchanges, by your referred turnover:"))
        levels = list(RewardLevel.objects.order_by("min_turnover"))
        for level in levels:
            if level.min_turnover <= 0:
                lines.append(_("From the start: %(percent)s%%.")
                             % {"percent": plain(level.percent)})
            else:
                lines.append(_("Once your referred turnover reaches %(turnover)s %(currency)s: "
                               "%(percent)s%%.")
                             % {"turnover": plain(level.min_turnover),
                                "currency": ACCOUNTING_CURRENCY, "percent": plain(level.percent)})
        if not levels:
            lines.append(_("No reward levels are set at the moment."))
        if partner is not None:
            lines.append(_("Your referred turnover so far: %(turnover)s %(currency)s (each "
                           "exchange earns at the level of the turnover before it).")
                         % {"turnover": plain(quantize_down(partner_turnover(partner.pk), 2)),
                            "currency": ACCOUNTING_CURRENCY})
    lines.append(_("Rewards under 0.01 %(currency)s are not credited. A reward is credited when "
                   "the exchange succeeds and taken back if the exchange is later cancelled or "
                   "fails. Your own exchanges earn nothing.") % {"currency": ACCOUNTING_CURRENCY})
    lines.append(_("You may ask for a payout of your whole balance once it reaches "
                   "%(min)s %(currency)s.")
                 % {"min": plain(program.min_payout), "currency": ACCOUNTING_CURRENCY})
    return lines


def describe_program_terms() -> list[str]:
    """The holding period and the second tier, in plain words, for the program page."""
    program = RewardProgram.load()
    lines = []
    if program.hold_days:
        lines.append(ngettext(
            "A reward is pending for %(days)s day after the exchange succeeds, then it is "
            "payable.",
            "A reward is pending for %(days)s days after the exchange succeeds, then it is "
            "payable.", program.hold_days) % {"days": program.hold_days})
    else:
        lines.append(_("A reward is payable as soon as the exchange succeeds."))
    if program.second_tier_enabled:
        lines.append(_("Second tier: partners who sign up through your link earn you "
                       "%(percent)s%% of their rewards, paid by us, not taken from theirs.")
                     % {"percent": plain(program.second_tier_percent)})
    return lines
