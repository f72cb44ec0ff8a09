"""The v1 method names, in the order the docs list them, and api.php's names for the same.

A key may be limited to a set of these names (`ApiKey.methods`); the limit applies to api.php
too, through `API_PHP_EQUIVALENT`, so a key limited to reading its links reads nothing else
whichever endpoint it calls.
"""

from __future__ import annotations

PARTNER_METHODS = (
    "test",
    "get_partner_info",
    "get_partner_links",
    "get_partner_exchanges",
    "get_partner_payouts",
    "add_partner_payout",
)
EXCHANGE_METHODS = (
    "get_direction_currencies",
    "get_directions",
    "get_direction",
    "get_calc",
    "create_bid",
    "bid_info",
    "cancel_bid",
    "pay_bid",
    "success_bid",
    "get_exchanges",
)
ALL_METHODS = PARTNER_METHODS + EXCHANGE_METHODS

# api.php's method -> the v1 method that answers the same question.
API_PHP_EQUIVALENT = {
    "get_info": "get_partner_info",
    "get_exchanges": "get_partner_exchanges",
    "get_links": "get_partner_links",
    "get_payouts": "get_partner_payouts",
    "add_payout": "add_partner_payout",
}


def parse_method_set(text: str) -> list[str]:
    """`m1,m2` (commas, spaces or new lines) as a list without repeats, in the given order;
    unknown names are kept so that the caller can refuse them by name."""
    names: list[str] = []
    for part in text.replace("\n", ",").replace(" ", ",").split(","):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    return names
