"""The public partner program page (`/partners/`): what partners earn, told from the live reward
rules, how payouts work and how monitors connect; it invites the visitor to sign up."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from obmin.cabinet.reward_rules import describe_program_terms, describe_reward_rules
from obmin.lib.money import plain
from obmin.lib.site import public_url
from obmin.rewards.selectors import payout_methods_active

CODE_PLACEHOLDER = "YOUR_CODE"


@require_GET
def program(request: HttpRequest) -> HttpResponse:
    return render(request, "cabinet/program.html", {
        "rules": describe_reward_rules(None),
        "terms": describe_program_terms(),
        "methods": [{"title": m.title, "currency": m.currency_code,
                     "commission": plain(m.commission_percent), "minimum": plain(m.min_amount)}
                    for m in payout_methods_active()],
        "link_example": public_url(f"/ref/{CODE_PLACEHOLDER}/"),
        "handoff_example": public_url(f"/ref/{CODE_PLACEHOLDER}/?cur_from=PMUSD&cur_to=BTC"),
        "export_example": public_url(f"/service/export/xml/{CODE_PLACEHOLDER}"),
    })
