"""Where higher rooms attach to the exchanger, each in its own `AppConfig.ready`.

The exchange room knows nothing of partners, rewards or the export; it announces what happens
through these hooks, and the rooms above connect to them in one visible place:

- `exchange_status_changed` (rewards: accrual and reversal) is sent by `exchange_set_status`
  inside the status change's transaction, with the exchange row locked, so a receiver commits
  or rolls back together with the change. kwargs: exchange, previous_status, status, actor.
- `rates_changed` (monitoring: rebuild the export; partners: drop the /ref/ route table) is
  sent after rates, reserves or directions change. No kwargs.
- `set_referrer_lookup` (partners: attribution) names the function that says which partner
  referred an exchange about to be created; without one, nobody did.
"""

from __future__ import annotations

from collections.abc import Callable

from django.dispatch import Signal
from django.http import HttpRequest

exchange_status_changed = Signal()
rates_changed = Signal()
# Sent by `exchange_create` inside its transaction, once the row exists. kwargs: exchange.
# (postbacks: the `exchange.created` event)
exchange_created = Signal()

# (request, customer's e-mail) -> the referring partner's id, or None.
ReferrerLookup = Callable[[HttpRequest, str], "int | None"]
_referrer_lookup: ReferrerLookup | None = None


def set_referrer_lookup(lookup: ReferrerLookup) -> None:
    global _referrer_lookup
    _referrer_lookup = lookup


def referrer_of(request: HttpRequest, email: str) -> int | None:
    """The partner who referred the exchange this request is about to create, or None."""
    return None if _referrer_lookup is None else _referrer_lookup(request, email)
