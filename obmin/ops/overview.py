"""The operator's overview of the program (staff only): totals for a period beside the period
before, top partners by turnover and by rewards, pending payouts with a bulk "mark paid" (each
through `payout_mark_paid`) and their CSV for a mass payment, and partners whose traffic looks
unusual (many clicks from one network, conversion far from the program's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from obmin.lib.csvsafe import csv_response
from obmin.lib.mail import send_email
from obmin.lib.money import plain
from obmin.lib.text import ascii_digits
from obmin.partners.models import Partner
from obmin.rewards.models import Payout, PayoutStatus
from obmin.rewards.services import PayoutError, payout_mark_paid
from obmin.stats import selectors
from obmin.stats.models import Dimension
from obmin.stats.periods import KINDS, period_from_query
from obmin.stats.selectors import Figures

TOP = 10
# A partner is worth a look when one network (/24, /48) brings at least this share of its
# clicks, out of at least NETWORK_MIN_CLICKS...
NETWORK_SHARE = Decimal("0.5")
NETWORK_MIN_CLICKS = 50
# ...or when its conversion is this many times above or below the program's, with at least
# CONVERSION_MIN_UNIQUE unique clicks.
CONVERSION_FACTOR = 3
CONVERSION_MIN_UNIQUE = 100


@dataclass(frozen=True)
class Unusual:
    partner: Partner
    reason: str


def _unusual(per_partner: dict[int, Figures], program: Figures, start: Any,
             end: Any) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    networks = selectors.click_breakdown(partner_id=None, dimension=Dimension.NETWORK,
                                         start=start, end=end, by_partner=True)
    top: dict[int, tuple[str, int]] = {}
    for (partner_id, network), (clicks, _unique) in networks.items():
        if network and clicks > top.get(partner_id, ("", 0))[1]:
            top[partner_id] = (network, clicks)
    for partner_id, (network, clicks) in top.items():
        total = per_partner[partner_id].clicks if partner_id in per_partner else 0
        if total >= NETWORK_MIN_CLICKS and clicks >= total * NETWORK_SHARE:
            found.append((partner_id, _("%(share)s%% of %(total)s clicks from one network, "
                                        "%(network)s") % {
                "share": round(clicks * 100 / total), "total": total, "network": network}))
    average = program.conversion
    if average:
        for partner_id, figures in per_partner.items():
            conversion = figures.conversion
            if figures.unique_clicks < CONVERSION_MIN_UNIQUE or conversion is None:
                continue
            if conversion > average * CONVERSION_FACTOR or conversion * CONVERSION_FACTOR < average:
                found.append((partner_id, _("conversion %(own)s%% against the program's "
                                            "%(average)s%%") % {"own": conversion,
                                                                "average": average}))
    return found


def pending_payouts() -> Any:
    return (Payout.objects.filter(status=PayoutStatus.PENDING)
            .select_related("partner__user", "method").order_by("created_at", "id"))


@staff_member_required
def overview(request: HttpRequest) -> HttpResponse:
    period, error = period_from_query(request.GET, now=timezone.now(), zone=UTC)
    compare = selectors.comparison(partner_id=None, period=period)
    per_partner = selectors.partner_figures(start=period.start, end=period.end)
    unusual = _unusual(per_partner, compare.current, period.start, period.end)
    wanted = set(per_partner) | {pid for pid, _r in unusual}
    partners = Partner.objects.select_related("user").in_bulk(list(wanted))

    def top(key: str) -> list[tuple[Partner, Figures]]:
        ranked = sorted(((partners[pid], f) for pid, f in per_partner.items()
                         if pid in partners and getattr(f, key) > 0),
                        key=lambda pair: getattr(pair[1], key), reverse=True)
        return ranked[:TOP]

    return render(request, "ops/overview.html", {
        "period": period, "period_error": error, "kinds": list(KINDS.items()),
        "zone_name": "UTC", "zone_chosen": True, "compare": compare,
        "top_turnover": top("turnover"), "top_rewards": top("rewards"),
        "unusual": [Unusual(partners[pid], reason) for pid, reason in unusual
                    if pid in partners],
        "payouts": pending_payouts()[:500],
        "failed_emails": failed_emails(),
        "title": _("Program overview"),
    })


def failed_emails() -> int:
    """E-mails the worker gave up on (every attempt failed): kept as failed tasks."""
    return DBTaskResult.objects.filter(status=TaskResultStatus.FAILED,
                                       task_path=send_email.module_path).count()


@require_POST
@staff_member_required
def payouts_mark_paid(request: HttpRequest) -> HttpResponse:
    """Marks the chosen pending payouts paid, each with the transaction id given."""
    transaction_id = request.POST.get("transaction_id", "").strip()[:200]
    note = request.POST.get("note", "").strip()[:255]
    ids = [int(v) for v in request.POST.getlist("payout") if ascii_digits(v)]
    if not ids or not transaction_id:
        messages.error(request, _("Choose payouts and give the transaction id of the payment."))
        return redirect("ops:overview")
    done = 0
    for payout_id in ids:
        try:
            payout_mark_paid(payout_id=payout_id, actor=request.user.get_username(),
                             transaction_id=transaction_id, note=note)
        except PayoutError as refusal:
            messages.error(request, refusal.message)
        else:
            done += 1
    if done:
        messages.success(request, _("%(n)s payouts marked paid.") % {"n": done})
    return redirect("ops:overview")


@staff_member_required
def payouts_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Pending payouts for a mass payment: who, where, how much."""
    rows = ([p.pk, p.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
             p.partner.email, p.partner.ref_code, p.method.title, p.account,
             plain(p.amount), p.currency_code, p.original_amount]
            for p in pending_payouts().iterator(chunk_size=1000))
    return csv_response("pending-payouts.csv",
                        ["id", "requested_utc", "partner_email", "ref_code", "method",
                         "account", "amount", "currency", "balance_held_usd"], rows)
