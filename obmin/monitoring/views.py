"""`/service/export/{xml,json,txt}/<code>`: the rate export monitors poll every few seconds.

Everything is prepared in the snapshot; a request looks up the code, counts the poll in memory
and answers the prepared bytes (or 304). No database query while nothing changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from django.http import HttpRequest, HttpResponse
from django.utils.http import parse_http_date_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from obmin.lib import metrics
from obmin.monitoring import polls
from obmin.monitoring.services import monitor_polls_flush
from obmin.monitoring.snapshot import Body, Snapshot, current_snapshot

log = logging.getLogger(__name__)


@lru_cache(maxsize=256)  # monitors send the same few headers on every poll
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


def not_modified(meta: Mapping[str, str], body: Body, snapshot: Snapshot) -> bool:
    if_none_match = meta.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        # The precedence RFC 9110 gives: If-Modified-Since is ignored beside If-None-Match.
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or body.etag in tags or body.etag_gzip in tags
    since = meta.get("HTTP_IF_MODIFIED_SINCE")
    if since is not None:
        moment = parse_http_date_safe(since)
        return moment is not None and snapshot.modified_at <= moment
    return False


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    content: bytes


def export_answer(fmt: str, code: str | None, meta: Mapping[str, str]) -> Answer:
    """The whole answer to a poll, from the request's WSGI/META headers; `code` None is the
    default export (`/request-exportxml.xml`), counted as "default".

    Shared by the Django view and the WSGI fast path in `obmin.wsgi`, so both answer alike.
    """
    now = time.time()
    snapshot = current_snapshot(now)
    known = (snapshot.codes.get(code.lower()) if code is not None
             else (polls.DEFAULT_EXPORT, snapshot.default_enabled))
    flush_due = False
    # Unknown codes are counted together: anyone can invent them.
    metrics.count("obmin_exports", code=(code.lower() if code is not None else "default")
                  if known else "(unknown)", format=fmt)
    if known is None:
        body = snapshot.maintenance[fmt]
    else:
        partner_id, allowed = known
        flush_due = polls.poll_record(partner_id, now)
        body = snapshot.rates[fmt] if allowed else snapshot.maintenance[fmt]
    gzipped = body.gzipped is not None and accepts_gzip(meta.get("HTTP_ACCEPT_ENCODING", ""))
    headers = [("Content-Type", body.content_type)]
    if not_modified(meta, body, snapshot):
        status, content = 304, b""
    else:
        status = 200
        content = body.gzipped if gzipped and body.gzipped is not None else body.content
        if gzipped:
            headers.append(("Content-Encoding", "gzip"))
    headers += [
        ("ETag", body.etag_gzip if gzipped else body.etag),
        ("Last-Modified", snapshot.last_modified),
        ("Cache-Control", "no-cache"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if body.gzipped is not None:
        headers.append(("Vary", "Accept-Encoding"))
    if flush_due:
        try:
            monitor_polls_flush(now=now)
        except Exception:  # a statistics hiccup must never cost the monitor its answer
            log.exception("flushing poll counts failed")
    return Answer(status, headers, content)


@csrf_exempt  # read-only; without this a POST got CSRF's 403 instead of 405
@require_safe
def export(request: HttpRequest, fmt: str, code: str | None) -> HttpResponse:
    answer = export_answer(fmt, code, request.META)
    response = HttpResponse(answer.content, status=answer.status)
    if answer.status == 304:
        del response.headers["Content-Type"]
    for name, value in answer.headers:
        if not (answer.status == 304 and name == "Content-Type"):
            response.headers[name] = value
    return response


@csrf_exempt
@require_safe
def default_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """Premium Exchanger's default export paths: the same answer without a code."""
    return export(request, fmt, None)
