"""Malformed requests to api.php and API v1 get the API's own envelope, never Django's HTML.

Django refuses some requests before any view runs, or when a view first reads the body: a Host
outside ALLOWED_HOSTS, a form body that is not UTF-8 (`charset=utf-16`), more fields than
DATA_UPLOAD_MAX_NUMBER_FIELDS, a body over DATA_UPLOAD_MAX_MEMORY_SIZE, an unreadable multipart
body. For the two APIs this middleware, first in the chain, checks each of them up front and
answers the caller's envelope (HTTP 400, error 4 with the reason), so a script always gets
JSON it can read. The refusal is one log line, with no traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest, DisallowedHost, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils.translation import gettext as _

from obmin.partner_api.envelope import ApiError, failure
from obmin.partner_api.v1.answer import E_PARAMETER, V1Error, fail

logger = logging.getLogger("django.security.obmin")

V1_PREFIX = "/api/userapi/v1/"
# What Django raises for a request it cannot read (the body's decoding may raise the rest).
# Broken multipart is left to the views, which read it as no body parameters (as before).
UNREADABLE = (BadRequest, SuspiciousOperation, UnreadablePostError, LookupError)


class ApiEnvelopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # api.php and its alias where Premium's documentation puts it.
        self.api_paths = {reverse("partner_api:api"), reverse("partner_api:api_html")}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        v1 = path.startswith(V1_PREFIX)
        if not v1 and path not in self.api_paths:
            return self.get_response(request)
        reason = self._refusal(request)
        if reason is None:
            return self.get_response(request)
        text = _("request: %(reason)s") % {"reason": reason}
        if v1:
            response = fail(V1Error(E_PARAMETER, text, status=400))
        else:
            response = failure(ApiError(4, text, status=400))
        # Logged above with its reason: Django need not add its "Bad Request" line.
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response

    @staticmethod
    def _refusal(request: HttpRequest) -> str | None:
        """Why Django could not read this request, or None when it can."""
        try:
            request.get_host()
        except DisallowedHost:
            logger.warning("Invalid HTTP_HOST header %r for %s",
                           request.META.get("HTTP_HOST", "")[:100], request.path_info[:100])
            return _("this host name is not served here.")
        try:
            request.GET  # noqa: B018 - parsed now: too many fields raise here
            if request.method == "POST":
                request.POST  # noqa: B018 - and the body's charset, size and fields here
                if request.content_type != "multipart/form-data":
                    request.body  # noqa: B018 - a JSON body's size (API v1 reads it later)
        except (MultiPartParserError, ValueError):
            return None
        except UNREADABLE as exc:
            logger.warning("Unreadable API request for %s: %s", request.path_info[:100],
                           str(exc)[:200])
            return _("the body could not be read (UTF-8 form or multipart data, at most "
                     "%(fields)s fields, within the size limit).") % {
                "fields": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}
        return None
