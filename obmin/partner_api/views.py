"""api.php, its documentation page and its OpenAPI document. Thin: rules live elsewhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from obmin.lib import metrics
from obmin.lib.replica import answered_from_replica
from obmin.lib.site import public_url
from obmin.partner_api import docs, schema
from obmin.partner_api.decorators import ApiRequest, api_key_required
from obmin.partner_api.envelope import ApiError, FailureResponse, failure
from obmin.partner_api.live import LiveSource
from obmin.partner_api.methods import HANDLERS
from obmin.partner_api.params import request_params
from obmin.partner_api.records import Source
from obmin.partner_api.sandbox import SandboxSource
from obmin.partner_api.v1 import docs as v1_docs
from obmin.partner_api.v1.catalog import API_PHP_EQUIVALENT


def in_english(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Answers in English whatever the visitor's language: error_text is part of the wire,
    and partners' scripts may match it (the docs page and the cabinet are translated)."""
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        with translation.override("en"):
            return view(request, *args, **kwargs)

    return wrapper


def counted(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Counts each call for /metrics by method (known ones; the rest together) and error."""
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        # The parameters as the key check read them; read again only when it refused early.
        params = getattr(request, "api_params", None) or request_params(request)
        method = params.get("method", "")
        metrics.count("obmin_api_calls", method=method if method in HANDLERS else "(other)",
                      error=str(response.api_error if isinstance(response, FailureResponse)
                                else 0))
        return response

    return wrapper


def get_or_post(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Any other HTTP method is refused with the envelope (405 and `Allow`), never a page."""
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in ("GET", "POST"):
            response = failure(ApiError(3, _("Use GET or POST."), status=405))
            response["Allow"] = "GET, POST"
            return response
        return view(request, *args, **kwargs)

    return wrapper


# The long histories, read from the replica when there is one (obmin.lib.replica); the balance
# and payouts (which a partner's own add_payout changes) always from the primary.
REPLICA_METHODS = frozenset({"get_links", "get_exchanges"})


@csrf_exempt
@counted
@in_english
@get_or_post
@api_key_required
def api(request: ApiRequest) -> HttpResponseBase:
    options = request.api_params
    try:
        if options.get("api_action", "") != "pp":
            raise ApiError(3, _("Unknown api_action; use api_action=pp."))
        handler = HANDLERS.get(options.get("method", ""))
        if handler is None:
            raise ApiError(3, _("Unknown method; use one of: %(methods)s.")
                           % {"methods": ", ".join(HANDLERS)})
        key = request.api_key
        if not key.allows(API_PHP_EQUIVALENT.get(options.get("method", ""), "")):
            raise ApiError(3, _("This API key may not call %(method)s.")
                           % {"method": options.get("method", "")})
        if key.is_test:
            return handler(SandboxSource(key), options)
        source: Source = LiveSource(request.partner)
        if options.get("method") in REPLICA_METHODS:
            return answered_from_replica(lambda: handler(source, options))
        return handler(source, options)
    except ApiError as error:
        return failure(error)


@require_GET
def documentation(request: HttpRequest) -> HttpResponse:
    examples = docs.examples()
    methods = [
        {"method": m, "curl": docs.curl(m), "curl_query": docs.curl_query(m),
         "example": json.dumps(examples[m.name], indent=2, ensure_ascii=False)}
        for m in schema.METHODS
    ]
    return render(request, "partner_api/docs.html", {
        "url": schema.api_url(), "common": schema.COMMON_PARAMS, "methods": methods,
        "errors": schema.ERRORS,
        "error_example": json.dumps(docs.error_example(), indent=2, ensure_ascii=False),
        "v1": v1_docs.page(), "site_url": public_url(""),
    })


@require_GET
def openapi(request: HttpRequest) -> HttpResponse:
    document = docs.openapi()
    # API v1 beside api.php, one operation per method (partner_api/v1/docs.py).
    document["paths"].update(v1_docs.openapi_paths())
    document["components"]["securitySchemes"].update(v1_docs.SECURITY_SCHEMES)
    response = JsonResponse(document, json_dumps_params={"indent": 2})
    response["Access-Control-Allow-Origin"] = "*"  # for API explorers on other sites
    return response
