"""The partner's cabinet: partnership link, statistics, exchanges, payouts, API access.

Every view reads through `request.partner` (see decorators.py): a partner sees only its own data.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth import login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from obmin.cabinet.decorators import partner_required
from obmin.cabinet.forms import ApiKeyForm, PayoutRequestForm, SignupForm
from obmin.exchange.models import Exchange
from obmin.exchange.selectors import partner_exchange_daily
from obmin.partner_api.selectors import partner_api_keys
from obmin.partner_api.services import ApiKeyError, apikey_create, apikey_revoke
from obmin.partners.selectors import partner_click_stats
from obmin.partners.services import partner_create
from obmin.rewards.selectors import (
    describe_reward_rules,
    partner_balance,
    partner_min_payout,
    partner_payouts,
    partner_total_paid,
    payout_methods_for,
)
from obmin.rewards.services import PayoutError, payout_cancel, payout_request

STATS_DAYS = 30


@ratelimit(key="ip", rate="10/h", method="POST", block=False)
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("cabinet:dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        if getattr(request, "limited", False):
            form.add_error(None, _("Too many sign-ups from your address; try again later."))
        elif form.is_valid():
            partner = partner_create(email=form.cleaned_data["email"],
                                     password=form.cleaned_data["password1"],
                                     check_password=False)
            login(request, partner.user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("cabinet:dashboard")
    return render(request, "cabinet/signup.html", {"form": form},
                  status=400 if form.errors else 200)


@partner_required
def dashboard(request: HttpRequest) -> HttpResponse:
    partner = request.partner  # type: ignore[attr-defined]
    end = timezone.now()
    start = (end - timedelta(days=STATS_DAYS - 1)).replace(hour=0, minute=0, second=0,
                                                           microsecond=0)
    exchange_days = partner_exchange_daily(partner_id=partner.pk, start=start, end=end)
    click_days = partner_click_stats(partner=partner, start=start.date(), end=end.date())
    totals = {
        "clicks": sum(d["clicks"] for d in click_days),
        "unique_clicks": sum(d["unique_clicks"] for d in click_days),
        "exchanges": sum(d["exchanges"] for d in exchange_days),
        "successful": sum(d["successful"] for d in exchange_days),
        "turnover_usd": sum((d["turnover_usd"] for d in exchange_days), Decimal(0)),
        "rewards": sum((d["rewards"] for d in exchange_days), Decimal(0)),
    }
    by_day = {d["day"]: d for d in exchange_days}
    chart = {
        "labels": [d["day"].isoformat() for d in click_days],
        "clicks": [d["unique_clicks"] for d in click_days],
        "exchanges": [by_day.get(d["day"], {}).get("successful", 0) for d in click_days],
    }
    return render(request, "cabinet/dashboard.html", {
        "partner": partner, "totals": totals, "chart": chart, "days": STATS_DAYS,
    })


@partner_required
def exchanges(request: HttpRequest) -> HttpResponse:
    partner = request.partner  # type: ignore[attr-defined]
    queryset = (Exchange.objects.filter(partner=partner)
                .select_related("currency_give", "currency_get").order_by("-created_at", "-id"))
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    return render(request, "cabinet/exchanges.html", {"partner": partner, "page": page})


@partner_required
def api_access(request: HttpRequest) -> HttpResponse:
    """"Create API Access": the new key is shown on this one answer and never again."""
    partner = request.partner  # type: ignore[attr-defined]
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            key, raw = apikey_create(partner=partner, name=form.cleaned_data["name"],
                                     test=form.cleaned_data["test"],
                                     allowed_ips=form.cleaned_data["allowed_ips"])
        except ApiKeyError as error:
            form.add_error("allowed_ips" if error.field == "allowed_ips" else None,
                           error.message)
        else:
            new_key = {"key": key, "raw": raw}
            form = ApiKeyForm()
    response = render(request, "cabinet/api_access.html", {
        "partner": partner, "form": form, "new_key": new_key,
        "keys": partner_api_keys(partner),
    }, status=400 if form.errors else 200)
    response["Cache-Control"] = "no-store"  # the page may hold a secret
    return response


@require_POST
@partner_required
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    try:
        apikey_revoke(partner=request.partner, key_id=key_id)  # type: ignore[attr-defined]
    except ApiKeyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The key is revoked; requests with it are refused now."))
    return redirect("cabinet:api_access")


@partner_required
def payouts(request: HttpRequest) -> HttpResponse:
    partner = request.partner  # type: ignore[attr-defined]
    offers = payout_methods_for(partner)
    form = PayoutRequestForm(request.POST or None, offers=offers)
    if request.method == "POST" and form.is_valid():
        try:
            payout = payout_request(partner=partner, method_id=form.cleaned_data["method_id"],
                                    account=form.cleaned_data["account"])
        except PayoutError as error:
            field = error.param if error.param in form.fields else None
            form.add_error(field, error.message)
        else:
            messages.success(request, _("Payout #%(id)s requested.") % {"id": payout.pk})
            return redirect("cabinet:payouts")
    return render(request, "cabinet/payouts.html", {
        "partner": partner,
        "form": form,
        "offers": offers,
        "balance": partner_balance(partner),
        "total_paid": partner_total_paid(partner),
        "min_payout": partner_min_payout(partner),
        "rules": describe_reward_rules(partner),
        "payouts": partner_payouts(partner).select_related("method").order_by("-id")[:200],
    }, status=400 if form.errors else 200)


@require_POST
@partner_required
def payout_cancel_view(request: HttpRequest, payout_id: int) -> HttpResponse:
    try:
        payout_cancel(partner=request.partner, payout_id=payout_id)  # type: ignore[attr-defined]
    except PayoutError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Payout cancelled; the amount is back on your balance."))
    return redirect("cabinet:payouts")
