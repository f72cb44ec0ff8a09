"""The back office's requests (the admin and /staff/).

- In the operator's time zone (`OPERATOR_TIME_ZONE`): the admin's lists, change pages and date
  inputs read and write times in the zone the desk names, not in UTC.
- A NUL character in a query or form parameter is refused with a 400 before any view runs: no
  database stores it (PostgreSQL refuses such text in any query: a transaction id or a search
  with one answered 500) and no operator types one. The public rooms keep their own handling
  (the partner link still redirects, forms say what is wrong, the APIs answer their envelope).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.utils import timezone

BACK_OFFICE = ("/admin/", "/staff/")


def _has_nul(pairs: Iterable[tuple[str, list[str]]]) -> bool:
    return any("\x00" in name or any("\x00" in value for value in values)
               for name, values in pairs)


class BackOfficeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path_info.startswith(BACK_OFFICE):
            return self.get_response(request)
        if _has_nul(request.GET.lists()) or (
                request.method == "POST" and _has_nul(request.POST.lists())):
            return HttpResponseBadRequest("Bad request: a NUL character in a parameter.\n",
                                          content_type="text/plain")
        with timezone.override(settings.OPERATOR_TIME_ZONE):
            return self.get_response(request)
