"""Obmin's exchange lifecycle in Premium Exchanger's status names, both ways: the one place
API v1's answers, its callbacks and its filters read them from.

Premium has more statuses than Obmin's lifecycle has states; those without an Obmin state are
listed (with their titles, for the docs) but never sent.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from obmin.exchange.models import ExchangeStatus

# Every status Premium names, with its title (sent as `status_title` in the request's language).
PREMIUM_TITLES: dict[str, str | Promise] = {
    "coldnew": _("Bid awaiting confirmation"),
    "new": _("New bid"),
    "cancel": _("Cancelled bid"),
    "delete": _("Deleted bid"),
    "techpay": _("Bid paid, awaiting the payment system"),
    "payed": _("Paid bid"),
    "coldpay": _("Bid awaiting payment confirmation"),
    "partpay": _("Partly paid bid"),
    "realpay": _("Payment confirmed"),
    "verify": _("Bid being verified"),
    "mercherror": _("Payment error"),
    "error": _("Bid error"),
    "payouterror": _("Payout error"),
    "scrpayerror": _("Automatic payout error"),
    "coldsuccess": _("Bid awaiting payout confirmation"),
    "partpayout": _("Partly paid out bid"),
    "success": _("Completed bid"),
}

S = ExchangeStatus
# Obmin's status -> Premium's name.
TO_PREMIUM: dict[str, str] = {
    S.NEW: "new",
    S.PAID: "payed",  # the customer says it has paid
    S.RECEIVED: "realpay",  # the operator (or a check) confirmed the money
    S.SUCCESS: "success",
    S.CANCELLED: "cancel",
    S.ERROR: "error",
}
assert set(TO_PREMIUM) == set(S.values), "every Obmin status has its Premium name"
assert set(TO_PREMIUM.values()) <= set(PREMIUM_TITLES)
# Premium's name -> Obmin's status (the names Obmin never reaches map to nothing).
FROM_PREMIUM: dict[str, str] = {premium: status for status, premium in TO_PREMIUM.items()}


def premium_status(status: str) -> str:
    return TO_PREMIUM[status]


def premium_title(status: str) -> str:
    """The Premium status's title for Obmin's `status`, in the active language."""
    return str(PREMIUM_TITLES[TO_PREMIUM[status]])
