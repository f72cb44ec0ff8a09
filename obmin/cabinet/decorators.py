"""Puts the logged-in partner on the request, so every cabinet read starts from it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec, cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from obmin.partners.models import Partner

P = ParamSpec("P")


class PartnerRequest(HttpRequest):
    """A cabinet request after `partner_required`: `partner` is the logged-in partner."""

    partner: Partner


def partner_required(
    view: Callable[Concatenate[PartnerRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        partner = (Partner.objects.filter(user_id=request.user.pk or 0)
                   .select_related("user").first())
        if partner is None:
            return render(request, "cabinet/not_partner.html", status=403)
        partner_request = cast(PartnerRequest, request)
        partner_request.partner = partner
        return view(partner_request, *args, **kwargs)

    return wrapper
