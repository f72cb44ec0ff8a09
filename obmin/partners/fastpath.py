"""`/ref/` answered before most of Django's middleware stack.

A click is paid traffic's first request, and the view (`views.ref`) reads only its path, query,
headers and cookies and answers a redirect without a body: sessions, locale, CSRF, auth,
messages, CSP and axes have nothing to do for it, yet together they cost more than the click
itself (profiled in process: about 350 of 800 us per click). So `obmin.wsgi` sends GET and HEAD
requests for `/ref/<code>/` here, through the same view with the security middleware (HTTPS
redirect, HSTS and the other security headers) and Django's own handling of an exception and
of the request's signals (connections are checked and closed as on every request). Any other
path or method goes the whole way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, cast

from django.core import signals
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest, get_script_name
from django.http import HttpRequest, HttpResponseBase
from django.middleware.security import SecurityMiddleware
from django.urls import set_script_prefix

from obmin.lib.accesslog import WSGIApp
from obmin.partners.views import ref

# As `partners.urls` routes it (`ref/<str:code>/`): anything else is left to Django.
REF_PATH = re.compile(r"^/ref/([^/]+)/$")


def _ref_view(request: HttpRequest) -> HttpResponseBase:
    request.get_host()  # an unknown Host is refused (400), as CommonMiddleware does elsewhere
    match = REF_PATH.match(request.path_info)
    assert match is not None  # the raw path matched before the request was built
    return ref(request, match[1])


def _sync(handler: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], HttpResponseBase]:
    # convert_exception_to_response keeps a synchronous handler synchronous; its annotation
    # admits the asynchronous kind too.
    return cast(Callable[[HttpRequest], HttpResponseBase],
                convert_exception_to_response(handler))


def with_ref_fast_path(django_app: WSGIApp) -> WSGIApp:
    respond = _sync(SecurityMiddleware(_sync(_ref_view)))

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
                or REF_PATH.match(environ.get("PATH_INFO", "")) is None):
            return django_app(environ, start_response)
        # What django.core.handlers.wsgi.WSGIHandler does around its middleware chain.
        set_script_prefix(get_script_name(environ))
        signals.request_started.send(sender=WSGIHandler, environ=environ)
        request = WSGIRequest(environ)
        response = respond(request)
        # The sender of request_finished, sent by close() below.
        response._handler_class = WSGIHandler  # type: ignore[attr-defined]
        start_response(f"{response.status_code} {response.reason_phrase}", [
            *response.items(),
            *(("Set-Cookie", cookie.OutputString()) for cookie in response.cookies.values()),
        ])
        # The whole answer as a list, the request ended here (obmin.wsgi.whole_answers says
        # why): the redirect has no body to stream.
        try:
            return [response.content]  # type: ignore[attr-defined]
        finally:
            response.close()

    return application
