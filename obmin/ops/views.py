"""Health probes for load balancers and the benchmarks' trivial view."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse

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
    if failed:
        return HttpResponse("not ready: " + ", ".join(failed), status=503,
                            content_type="text/plain")
    # The replica is told, never a reason for 503: its reads go to the primary meanwhile.
    return HttpResponse("ok" + _replica_line(), content_type="text/plain")


def _replica_line() -> str:
    state = replica_state(fresh=True)
    if state is None:
        return ""
    if state.lag is None:
        return "\nreplica: down (reads from the primary)"
    used = "in use" if state.usable else "too far behind (reads from the primary)"
    return f"\nreplica: {state.lag:.1f} s behind, {used}"
