"""`/service/export/{xml,json,txt}/<code>`: the rate export monitors poll every few seconds.

Everything is prepared in the snapshot; a request looks up the code, counts the poll in memory
and answers the prepared bytes (or 304). No database query while nothing changed.
"""

from __future__ import annotations

import logging
import time

from django.http import HttpRequest, HttpResponse
from django.utils.http import parse_http_date_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from obmin.monitoring import polls
from obmin.monitoring.services import monitor_polls_flush
from obmin.monitoring.snapshot import Body, Snapshot, current_snapshot

log = logging.getLogger(__name__)


def accepts_gzip(header: str) -> bool:
    """Whether Accept-Encoding allows gzip: named, or `*`, with a q-value above 0."""
    qualities = {}
    for part in header.lower().split(","):
        name, *params = part.split(";")
        quality = 1.0
        for param in params:
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        qualities[name.strip()] = quality
    return qualities.get("gzip", qualities.get("*", 0.0)) > 0


def not_modified(request: HttpRequest, body: Body, snapshot: Snapshot) -> bool:
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        # The precedence RFC 9110 gives: If-Modified-Since is ignored beside If-None-Match.
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or body.etag in tags or body.etag_gzip in tags
    since = request.META.get("HTTP_IF_MODIFIED_SINCE")
    if since is not None:
        moment = parse_http_date_safe(since)
        return moment is not None and snapshot.modified_at <= moment
    return False


@csrf_exempt  # read-only; without this a POST got CSRF's 403 instead of 405
@require_safe
def export(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    now = time.time()
    snapshot = current_snapshot(now)
    known = snapshot.codes.get(code.lower())
    flush_due = False
    if known is None:
        body = snapshot.maintenance[fmt]
    else:
        partner_id, allowed = known
        flush_due = polls.poll_record(partner_id, now)
        body = snapshot.rates[fmt] if allowed else snapshot.maintenance[fmt]
    gzipped = body.gzipped is not None and accepts_gzip(
        request.META.get("HTTP_ACCEPT_ENCODING", ""))
    if not_modified(request, body, snapshot):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body.gzipped if gzipped else body.content,
                                content_type=body.content_type)
        if gzipped:
            response.headers["Content-Encoding"] = "gzip"
    response.headers["ETag"] = body.etag_gzip if gzipped else body.etag
    response.headers["Last-Modified"] = snapshot.last_modified
    response.headers["Cache-Control"] = "no-cache"
    if body.gzipped is not None:
        response.headers["Vary"] = "Accept-Encoding"
    if flush_due:
        try:
            monitor_polls_flush(now=now)
        except Exception:  # a statistics hiccup must never cost the monitor its answer
            log.exception("flushing poll counts failed")
    return response
