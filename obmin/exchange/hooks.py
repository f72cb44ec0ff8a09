"""Where higher rooms attach to the exchanger, each in its own `AppConfig.ready`.

The exchange room knows nothing of partners, rewards or the export; it announces what happens
through these hooks, and the rooms above connect to them in one visible place:

- `exchange_status_changed` (rewards: accrual and reversal) is sent by `exchange_set_status`
  inside the status change's transaction, with the exchange row locked, so a receiver commits
  or rolls back together with the change. kwargs: exchange, previous_status, status, actor.
- `rates_changed` (monitoring: rebuild the export; partners: drop the /ref/ route table) is
  sent after rates, reserves or directions change. No kwargs.
- `set_referrer_lookup` (partners: attribution) names the function that says which partner
  referred an exchange about to be created, and from which traffic source (a `Referrer`);
  without one, nobody did.
(A request's client address is `obmin.lib.ipmask.client_address`, the same everywhere.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

from django.dispatch import Signal
from django.http import HttpRequest

exchange_status_changed = Signal()
rates_changed = Signal()
# Sent by `exchange_create` inside its transaction, once the row exists. kwargs: exchange.
# (postbacks: the `exchange.created` event)
exchange_created = Signal()


@dataclass(frozen=True)
class Referrer:
    """Who referred an exchange, and the source of the click that brought it: the partner's
    sub-IDs, the UTM tags and the visitor's country, copied onto the Exchange row."""

    partner_id: int
    sub1: str = ""
    sub2: str = ""
    sub3: str = ""
    sub4: str = ""
    sub5: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    country: str = ""

    def source(self) -> dict[str, str]:
        """The traffic-source fields by name (lib.models.TrafficSource's), for the row."""
        return {field.name: getattr(self, field.name) for field in fields(self)
                if field.name != "partner_id"}


# (request, customer's e-mail) -> the referring partner and its click's source, or None.
ReferrerLookup = Callable[[HttpRequest, str], "Referrer | None"]
_referrer_lookup: ReferrerLookup | None = None


def set_referrer_lookup(lookup: ReferrerLookup) -> None:
    global _referrer_lookup
    _referrer_lookup = lookup


def referrer_of(request: HttpRequest, email: str) -> Referrer | None:
    """The partner who referred the exchange this request is about to create (with its
    click's source), or None."""
    return None if _referrer_lookup is None else _referrer_lookup(request, email)
