"""Reads of the market rates that the command line and the admin share: a direction's
formula step by step (`obmin rates explain`), and finding a direction by its codes."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from obmin.exchange.models import Direction
from obmin.exchange.selectors import find_direction
from obmin.lib.money import plain
from obmin.lib.text import ascii_digits
from obmin.rates.formula import Step
from obmin.rates.models import MarketRate, RateSide
from obmin.rates.services import (
    RatesError,
    StoredInputs,
    market_rate_compute,
    market_rate_judge,
)


def direction_named(name: str) -> Direction:
    """A direction by id (`12`) or codes (`BTC-USDTTRC20`, `BTC:USDTTRC20`, `BTC USDTTRC20`),
    or RatesError."""
    text = name.strip()
    if ascii_digits(text):
        direction = Direction.objects.filter(pk=int(text)).first()
    else:
        parts = text.replace(":", " ").replace("-", " ").replace("→", " ").split()
        direction = find_direction(parts[0], parts[1]) if len(parts) == 2 else None
    if direction is None:
        raise RatesError(_("No direction %(name)s (give its id or FROM-TO codes).")
                         % {"name": name}, "direction")
    return direction


def step_line(step: Step) -> str:
    value = plain(step.value) if step.value is not None else "-"
    age = f"  ({step.age_seconds:.0f} s old)" if step.age_seconds is not None else ""
    problem = f"  !! {step.problem}" if step.problem else ""
    return f"{step.text} = {value}{age}{problem}"


def market_rate_explain(direction: Direction, *, now: datetime | None = None) -> list[str]:
    """The formula of a direction, each step with its value, each quote with its age, what
    would be offered and, when it is hidden, why."""
    now = timezone.now() if now is None else now
    market = MarketRate.objects.filter(direction=direction).first()
    lines = [f"{direction} (#{direction.pk})"]
    if market is None or not market.is_enabled:
        lines.append(_("manual rate: %(give)s : %(get)s")
                     % {"give": plain(direction.rate_give), "get": plain(direction.rate_get)})
        if market is None:
            return lines
        # A formula kept but switched off: what it would give, to try it before following it.
        lines.append(_("formula, not followed: %(formula)s (%(side)s)")
                     % {"formula": market.formula, "side": RateSide(market.side).label})
    else:
        lines.append(_("formula: %(formula)s (%(side)s)")
                     % {"formula": market.formula, "side": RateSide(market.side).label})
    result = market_rate_compute(market, StoredInputs(now))
    lines += [f"  {step_line(step)}" for step in result.steps]
    verdict = market_rate_judge(market, result)
    if verdict.rate is not None:
        age = (f"{(now - verdict.inputs_at).total_seconds():.0f}"
               if verdict.inputs_at else "-")
        lines.append((_("offered: %(rate)s; oldest input %(age)s s old") if market.is_enabled
                      else _("it would offer: %(rate)s; oldest input %(age)s s old"))
                     % {"rate": plain(verdict.rate), "age": age})
    else:
        lines.append(_("hidden: %(reason)s") % {"reason": verdict.problem})
    lines.append(_("now in the export: %(give)s : %(get)s%(state)s")
                 % {"give": plain(direction.rate_give), "get": plain(direction.rate_get),
                    "state": _(" (hidden: %(reason)s)") % {"reason": direction.rate_withheld(now)}
                    if direction.rate_withheld(now) else ""})
    return lines
