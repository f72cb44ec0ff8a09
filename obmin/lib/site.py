"""The site's one public address (`SITE_URL`): every absolute link the site gives out is built
by `public_url`, so the cabinet, e-mails, API answers, docs and payloads never disagree.

`SeenHostMiddleware` notes, cheaply, a Host that requests arrive on and that differs from
`SITE_URL`'s, so `obmin check --deploy` can say the links point elsewhere than visitors come.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

FOREIGN_HOST_KEY = "site:foreign-host"
FOREIGN_HOST_SECONDS = 7 * 86400
# Probes from a load balancer or Prometheus come on an internal address: not visitors.
_NOT_VISITORS = ("/health/", "/metrics")


def public_url(path: str = "/") -> str:
    """The absolute address of `path` (which starts with "/") on the public site."""
    return settings.SITE_URL + path


def public_host() -> str:
    """SITE_URL's host and port as a browser sends them in Host (`obmin.example`)."""
    return urlsplit(settings.SITE_URL).netloc.lower()


def public_origin() -> str:
    """SITE_URL's scheme, host and port (`https://obmin.example`): the origin a browser names
    in what it signs (WebAuthn's client data)."""
    parts = urlsplit(settings.SITE_URL)
    return f"{parts.scheme}://{parts.netloc}".lower()


def public_hostname() -> str:
    """SITE_URL's host without its port (`obmin.example`): WebAuthn's relying party id."""
    return (urlsplit(settings.SITE_URL).hostname or "").lower()


def foreign_host_seen() -> tuple[str, float] | None:
    """The last Host a request came on that differs from SITE_URL's, and when (unix time)."""
    seen = cache.get(FOREIGN_HOST_KEY)
    if isinstance(seen, tuple) and len(seen) == 2:
        return str(seen[0]), float(seen[1])
    return None


class SeenHostMiddleware:
    """Remembers a request's Host when it differs from SITE_URL's: a string comparison per
    request, and a cache write only for a host this process has not noted in the last minute."""

    NOTE_EVERY_SECONDS = 60.0

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._noted: dict[str, float] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(_NOT_VISITORS):
            self._note(request)
        return response

    def _note(self, request: HttpRequest) -> None:
        try:
            host = request.get_host().lower()
        except DisallowedHost:
            return  # refused already; not a host the site serves
        if host == public_host():
            return
        now = time.time()
        if now - self._noted.get(host, float("-inf")) < self.NOTE_EVERY_SECONDS:
            return
        if len(self._noted) > 100:
            self._noted.clear()
        self._noted[host] = now
        cache.set(FOREIGN_HOST_KEY, (host, now), FOREIGN_HOST_SECONDS)
