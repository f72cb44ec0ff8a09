"""Puts the logged-in partner on the request, so every cabinet read starts from it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from obmin.partners.models import Partner


def partner_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:  # type: ignore[no-untyped-def]
        partner = (Partner.objects.filter(user_id=request.user.pk or 0)
                   .select_related("user").first())
        if partner is None:
            return render(request, "cabinet/not_partner.html", status=403)
        request.partner = partner  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper
