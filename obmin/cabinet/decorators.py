"""Puts the logged-in partner on the request, so every cabinet read starts from it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from obmin.partners.models import Partner

P = ParamSpec("P")
# A page (HttpResponse) or a download (StreamingHttpResponse).
R = TypeVar("R", bound=HttpResponseBase)


class PartnerRequest(HttpRequest):
    """A cabinet request after `partner_required`: `partner` is the logged-in partner."""

    partner: Partner


def partner_required(
    view: Callable[Concatenate[PartnerRequest, P], R],
) -> Callable[Concatenate[HttpRequest, P], R | HttpResponse]:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> R | HttpResponse:
        partner = (Partner.objects.filter(user_id=request.user.pk or 0)
                   .select_related("user").first())
        if partner is None:
            return render(request, "cabinet/not_partner.html", status=403)
        partner_request = cast(PartnerRequest, request)
        partner_request.partner = partner
        return view(partner_request, *args, **kwargs)

    return wrapper
