"""`obmin check --deploy` names what a production install still lacks."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.core.checks import Error as CheckError

DEMO_KEY_MARK = "obmin-demo-key"


@register(Tags.security, deploy=True)
def check_production_settings(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if DEMO_KEY_MARK in settings.SECRET_KEY:
        problems.append(CheckError(
            "SECRET_KEY is the demo key.", hint="Set SECRET_KEY to a long random value.",
            id="obmin.E001"))
    if not os.environ.get("DATABASE_URL"):
        problems.append(Warning(
            "DATABASE_URL is not set: the site runs on SQLite.",
            hint="Set DATABASE_URL=postgres://... for production.", id="obmin.W001"))
    if not settings.REDIS_URL:
        problems.append(Warning(
            "REDIS_URL is not set: cache and rate limits are shared only between the "
            "processes of this host (file cache).",
            hint="Set REDIS_URL when more than one host serves the site.", id="obmin.W002"))
    if settings.CONTENT_SECURITY_POLICY is None:
        problems.append(Warning(
            "CSP_REPORT_ONLY is on: the Content-Security-Policy only reports, it blocks "
            "nothing.", hint="Unset CSP_REPORT_ONLY once the reports are clean.",
            id="obmin.W004"))
    if settings.SITE_URL.startswith("http://127.0.0.1"):
        problems.append(Warning(
            "SITE_URL is the local demo address; partners' links would point there.",
            hint="Set SITE_URL=https://your-exchanger.example", id="obmin.W003"))
    if not settings.METRICS_TOKEN:
        problems.append(Warning(
            "METRICS_TOKEN is not set: /metrics answers no one"
            + (" but, with METRICS_PUBLIC, anyone who reaches it." if settings.METRICS_PUBLIC
               else "."),
            hint="Set METRICS_TOKEN to a long random value and give it to your scraper as a "
                 "Bearer token.", id="obmin.W010"))
    return problems
