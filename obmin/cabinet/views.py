"""The partner's cabinet: partnership link, statistics, exchanges, payouts, API access.

Every view reads through `request.partner` (see decorators.py): a partner sees only its own data.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from obmin.cabinet.decorators import PartnerRequest, partner_required
from obmin.cabinet.forms import ApiKeyForm, PayoutRequestForm, WalletForm
from obmin.cabinet.reward_rules import describe_reward_rules
from obmin.cabinet.stats_views import dashboard_context
from obmin.lib.errors import add_refusal
from obmin.lib.site import public_url
from obmin.partner_api.selectors import partner_api_keys
from obmin.partner_api.services import ApiKeyError, apikey_create, apikey_revoke
from obmin.rewards.selectors import (
    partner_balance,
    partner_balances,
    partner_min_payout,
    partner_payouts,
    partner_total_paid,
    partner_wallets,
    payout_methods_for,
    second_tier_percent,
)
from obmin.rewards.services import (
    PayoutError,
    payout_cancel,
    payout_request,
    wallet_remove,
    wallet_save,
)
from obmin.twofactor.decorators import fresh_second_factor_required


@partner_required
def dashboard(request: PartnerRequest) -> HttpResponse:
    return render(request, "cabinet/dashboard.html", {
        **dashboard_context(request),
        "balances": partner_balances(request.partner.pk),
        "second_tier_percent": second_tier_percent(),
        "export_url": public_url(f"/service/export/xml/{request.partner.export_code}"),
    })


@partner_required
@fresh_second_factor_required()
def api_access(request: PartnerRequest) -> HttpResponse:
    """"Create API Access": the new key is shown on this one answer and never again."""
    partner = request.partner
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            key, raw = apikey_create(partner=partner, name=form.cleaned_data["name"],
                                     test=form.cleaned_data["test"],
                                     allowed_ips=form.cleaned_data["allowed_ips"],
                                     methods=form.cleaned_data["methods"])
        except ApiKeyError as error:
            add_refusal(form, error)
        else:
            new_key = {"key": key, "raw": raw}
            form = ApiKeyForm()
    response = render(request, "cabinet/api_access.html", {
        "partner": partner, "form": form, "new_key": new_key,
        "keys": partner_api_keys(partner),
        "api_url": public_url("/service/partner/api.php"), "v1_test_url": public_url(
            "/api/userapi/v1/test"),
    }, status=400 if form.errors else 200)
    response["Cache-Control"] = "no-store"  # the page may hold a secret
    return response


@require_POST
@partner_required
def api_key_revoke(request: PartnerRequest, key_id: int) -> HttpResponse:
    try:
        apikey_revoke(partner=request.partner, key_id=key_id)
    except ApiKeyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The key is revoked; requests with it are refused now."))
    return redirect("cabinet:api_access")


def _payouts_page(request: PartnerRequest, *, form: PayoutRequestForm | None = None,
                  wallet_form: WalletForm | None = None) -> HttpResponse:
    partner = request.partner
    offers = payout_methods_for(partner)
    form = form or PayoutRequestForm(offers=offers)
    wallet_form = wallet_form or WalletForm(offers=offers)
    return render(request, "cabinet/payouts.html", {
        "partner": partner,
        "form": form,
        "wallet_form": wallet_form,
        "wallets": partner_wallets(partner.pk),
        "now": timezone.now(),
        "offers": offers,
        "balance": partner_balance(partner),
        "total_paid": partner_total_paid(partner),
        "min_payout": partner_min_payout(partner),
        "rules": describe_reward_rules(partner),
        "payouts": partner_payouts(partner).select_related("method").order_by("-id")[:200],
    }, status=400 if form.errors or wallet_form.errors else 200)


@partner_required
def payouts(request: PartnerRequest) -> HttpResponse:
    partner = request.partner
    form = PayoutRequestForm(request.POST or None, offers=payout_methods_for(partner))
    if request.method == "POST" and form.is_valid():
        try:
            payout = payout_request(partner=partner, method_id=form.cleaned_data["method_id"],
                                    account=form.cleaned_data["account"])
        except PayoutError as error:
            add_refusal(form, error)
        else:
            messages.success(request, _("Payout #%(id)s requested.") % {"id": payout.pk})
            return redirect("cabinet:payouts")
    return _payouts_page(request, form=form)


@partner_required
@fresh_second_factor_required()
def wallet_save_view(request: PartnerRequest) -> HttpResponse:
    """The wallet form's target; a GET shows the payouts page it is on."""
    wallet_form = WalletForm(request.POST if request.method == "POST" else None,
                             offers=payout_methods_for(request.partner))
    if request.method == "POST" and wallet_form.is_valid():
        try:
            wallet = wallet_save(partner=request.partner,
                                 method_id=wallet_form.cleaned_data["method_id"],
                                 account=wallet_form.cleaned_data["account"])
        except PayoutError as error:
            add_refusal(wallet_form, error)
        else:
            if wallet.usable_from <= timezone.now():  # the same account again: nothing changed
                messages.info(request, _("This wallet is saved already."))
                return redirect("cabinet:payouts")
            messages.success(request, _("Wallet saved. Payouts can go to it from %(time)s UTC; "
                                        "we have e-mailed you about the change.")
                             % {"time": wallet.usable_from.strftime("%Y-%m-%d %H:%M")})
            return redirect("cabinet:payouts")
    return _payouts_page(request, wallet_form=wallet_form)


@require_POST
@partner_required
def wallet_remove_view(request: PartnerRequest, wallet_id: int) -> HttpResponse:
    try:
        wallet_remove(partner=request.partner, wallet_id=wallet_id)
    except PayoutError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Wallet removed."))
    return redirect("cabinet:payouts")


@require_POST
@partner_required
def payout_cancel_view(request: PartnerRequest, payout_id: int) -> HttpResponse:
    try:
        payout_cancel(partner=request.partner, payout_id=payout_id)
    except PayoutError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Payout cancelled; the amount is back on your balance."))
    return redirect("cabinet:payouts")
