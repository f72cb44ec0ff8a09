"""`GET /metrics` in Prometheus' text format (contract §7).

Counters come from `obmin.lib.metrics` (summed over every process through the shared cache);
gauges are read when Prometheus asks: clicks waiting to be written and how long the oldest has
waited, the background queue's depth and its oldest ready task's age, failed tasks.
Answered with `Authorization: Bearer <METRICS_TOKEN>` when that is set, else to no one unless
the operator opens it (METRICS_PUBLIC).
"""

from __future__ import annotations

import hmac
from collections import defaultdict
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from obmin.lib import metrics
from obmin.lib.replica import replica_state
from obmin.partners.ingest import clicks_waiting, oldest_waiting_age

# What each counter counts (the names the code counts under, with Prometheus' `_total`).
COUNTERS = {
    "obmin_clicks": "Clicks answered by /ref/, by where they went (database, stream, spool).",
    "obmin_clicks_written": "Queued clicks the worker wrote to the database.",
    "obmin_exports": "Rate exports served, by export code and format.",
    "obmin_api_calls": "Partner API calls, by method and error code (0: success).",
    "obmin_postback_deliveries": "Postback delivery attempts, by outcome (delivered, retry, "
                                 "failed).",
    "obmin_rollup_repairs": "Statistics rollup hours and days the reconciler found differing "
                            "from the raw rows and rebuilt, by source (clicks, exchanges).",
    "obmin_emails": "E-mail send attempts by the worker, by outcome (sent, retry, failed).",
}


class ObminCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        by_name: dict[str, list[tuple[tuple[tuple[str, str], ...], int]]] = defaultdict(list)
        for (name, labels), value in metrics.totals().items():
            by_name[name].append((labels, value))
        for name, help_text in COUNTERS.items():
            rows = by_name.get(name, [])
            label_names = sorted({label for labels, _value in rows for label, _ in labels})
            family = CounterMetricFamily(name, help_text, labels=label_names)
            for labels, value in rows:
                values = dict(labels)
                family.add_metric([values.get(label, "") for label in label_names], value)
            yield family
        yield GaugeMetricFamily("obmin_clicks_waiting",
                                "Clicks queued (stream or spool) and not yet written.",
                                value=clicks_waiting())
        yield GaugeMetricFamily("obmin_click_ingestion_lag_seconds",
                                "How long the oldest queued click has waited.",
                                value=oldest_waiting_age())
        yield from _task_gauges()
        yield from _replica_gauges()


def _replica_gauges() -> Iterator[Metric]:
    state = replica_state(fresh=True)
    if state is None:
        return  # no replica configured
    yield GaugeMetricFamily("obmin_replica_up", "Whether the read replica answers (1) or not.",
                            value=int(state.lag is not None))
    if state.lag is not None:
        yield GaugeMetricFamily("obmin_replica_lag_seconds",
                                "How far the read replica is behind the primary.",
                                value=state.lag)
    yield GaugeMetricFamily("obmin_replica_used",
                            "Whether heavy reads go to the replica (1) or the primary (0).",
                            value=int(state.usable))


def _task_gauges() -> Iterator[Metric]:
    try:
        ready = DBTaskResult.objects.ready()
        depth = ready.count()
        oldest = ready.aggregate(oldest=Min("enqueued_at"))["oldest"]
        failed = DBTaskResult.objects.filter(status=TaskResultStatus.FAILED).count()
    except DatabaseError:
        return  # no database: these gauges are absent rather than wrong
    age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    yield GaugeMetricFamily("obmin_tasks_ready", "Background tasks waiting for the worker.",
                            value=depth)
    yield GaugeMetricFamily("obmin_tasks_oldest_ready_age_seconds",
                            "How long the oldest waiting background task has waited.",
                            value=max(age, 0.0))
    yield GaugeMetricFamily("obmin_tasks_failed", "Background tasks that failed (kept).",
                            value=failed)


def _allowed(request: HttpRequest) -> bool:
    """With METRICS_TOKEN, its bearer only; without, no one unless the operator opened the page
    (METRICS_PUBLIC). Loopback opens nothing: behind a proxy on the same host every visitor
    comes from loopback."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _sep, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        # As bytes: compare_digest raises on a str with other than ASCII (headers are latin-1).
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                                  token.encode())
    return settings.METRICS_PUBLIC


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("forbidden: set METRICS_TOKEN and send it as a Bearer token "
                            "(or open the page with METRICS_PUBLIC=1)\n",
                            status=403, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ObminCollector())
    # The 0.0.4 text format: what every Prometheus version and most scrapers read.
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)
