"""The partner's cabinet: partnership link, statistics, API access, payouts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from obmin.partners.models import Partner


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    partner = Partner.objects.filter(user=request.user).first()
    return render(request, "cabinet/dashboard.html", {"partner": partner})
