"""Health probes for load balancers and the benchmarks' trivial view; the answer to an error
no view handled (a short 503 page while the database is unreachable)."""

from __future__ import annotations

import sys

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template.loader import render_to_string
from django.views.defaults import server_error as django_server_error

from obmin.lib.replica import replica_state


def live(request: HttpRequest) -> HttpResponse:
    """Touches neither database nor cache: the process is up and answering."""
    return HttpResponse("ok", content_type="text/plain")


def ready(request: HttpRequest) -> HttpResponse:
    failed = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means not ready
        failed.append("database")
    try:
        # A round trip, not just "no exception": the Redis backend (obmin.lib.cache) turns
        # an outage into silent misses so customers see no error; only here does it show.
        cache.set("obmin:ready", "1", 5)
        if cache.get("obmin:ready") != "1":
            failed.append("cache")
    except Exception:  # noqa: BLE001
        failed.append("cache")
    # The replica is told, never a reason for 503 (its reads go to the primary meanwhile), and
    # told in a 503 too: a cache outage must not hide that the replica died.
    if failed:
        return HttpResponse("not ready: " + ", ".join(failed) + _replica_line(), status=503,
                            content_type="text/plain")
    return HttpResponse("ok" + _replica_line(), content_type="text/plain")


def _replica_line() -> str:
    state = replica_state(fresh=True)
    if state is None:
        return ""
    if state.lag is None:
        return "\nreplica: down (reads from the primary)"
    used = "in use" if state.usable else "too far behind (reads from the primary)"
    return f"\nreplica: {state.lag:.1f} s behind, {used}"


# How long a visitor (or a crawler) is asked to wait while the database is unreachable.
UNAVAILABLE_RETRY_AFTER_SECONDS = 30


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: while the database is unreachable (restarting, failed over), a short 503
    page that needs neither the database nor the session, with Retry-After; any other error
    gets Django's plain 500 page. Never a traceback (DEBUG is off in production)."""
    error = sys.exc_info()[1]
    if isinstance(error, DatabaseError):
        response = HttpResponse(render_to_string("ops/unavailable.html"), status=503)
        response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
    answer = django_server_error(request)
    return answer if isinstance(answer, HttpResponse) else HttpResponseServerError()
