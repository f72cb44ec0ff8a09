"""Health probes for load balancers and the benchmarks' trivial view."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse


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
    if failed:
        return HttpResponse("not ready: " + ", ".join(failed), status=503,
                            content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")
