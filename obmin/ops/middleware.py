"""The operator's time zone (`OPERATOR_TIME_ZONE`) for the back office: the admin's lists, change
pages and date inputs read and write times in the same zone as the desk names, not in UTC."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone

BACK_OFFICE = ("/admin/", "/staff/")


class OperatorTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path.startswith(BACK_OFFICE):
            return self.get_response(request)
        with timezone.override(settings.OPERATOR_TIME_ZONE):
            return self.get_response(request)
