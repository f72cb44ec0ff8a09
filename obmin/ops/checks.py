"""`obmin check --deploy` names what a production install still lacks."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.core.checks import Error as CheckError
from django.http.request import validate_host

from obmin.lib.site import foreign_host_seen, public_host, public_hostname
from obmin.lib.timeutil import from_unix, utc_date
from obmin.passkeys.webauthn import passkeys_possible

DEMO_KEY_MARK = "obmin-demo-key"
# Both print messages to the output instead of sending them (ours masks links' tokens).
CONSOLE_EMAILS = {"django.core.mail.backends.console.EmailBackend",
                  "obmin.lib.mail.ConsoleBackend"}
# These keep messages in memory or drop them: nobody receives anything either.
UNSENT_EMAILS = {*CONSOLE_EMAILS, "django.core.mail.backends.dummy.EmailBackend",
                 "django.core.mail.backends.locmem.EmailBackend"}
FILE_EMAIL = "django.core.mail.backends.filebased.EmailBackend"


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
    elif not passkeys_possible():
        problems.append(Warning(
            f"SITE_URL is {settings.SITE_URL}: browsers allow passkeys only at a domain name "
            "over HTTPS, so partners and staff are not offered them as a second factor.",
            hint="Serve the site over HTTPS at its domain name and set SITE_URL=https://...",
            id="obmin.W030"))
    if settings.EMAIL_BACKEND in UNSENT_EMAILS:
        where = ("printed to the worker's output" if settings.EMAIL_BACKEND in CONSOLE_EMAILS
                 else "dropped")
        problems.append(Warning(
            f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}: sign-up, password reset and payout "
            f"e-mails are {where}, not sent.",
            hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend with EMAIL_HOST "
                 "(and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS), then "
                 "try it: obmin mail test you@example.com", id="obmin.W020"))
    if not _site_url_allowed():
        problems.append(Warning(
            f"SITE_URL's host is not in ALLOWED_HOSTS ({', '.join(settings.ALLOWED_HOSTS)}): "
            "every request on it, and so every link the site gives out, is refused (400).",
            hint=f"Add {public_hostname()} to ALLOWED_HOSTS.", id="obmin.W022"))
    seen = foreign_host_seen()
    if seen is not None and seen[0] != public_host():  # not noted before SITE_URL was fixed
        host, when = seen
        problems.append(Warning(
            f"Requests arrived on host {host} (last at {utc_date(from_unix(int(when)))} UTC) "
            f"but SITE_URL is {settings.SITE_URL}: partners' links, e-mails and API answers "
            "name SITE_URL.",
            hint="Set SITE_URL to the address visitors use, e.g. SITE_URL=https://" + host,
            id="obmin.W021"))
    if not settings.METRICS_TOKEN:
        problems.append(Warning(
            "METRICS_TOKEN is not set: /metrics answers no one"
            + (" but, with METRICS_PUBLIC, anyone who reaches it." if settings.METRICS_PUBLIC
               else "."),
            hint="Set METRICS_TOKEN to a long random value and give it to your scraper as a "
                 "Bearer token.", id="obmin.W010"))
    return problems


def _site_url_allowed() -> bool:
    host = public_hostname()
    return validate_host(f"[{host}]" if ":" in host else host, settings.ALLOWED_HOSTS)


@register()
def check_site_url(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """Every absolute link is SITE_URL + a path (`lib.site.public_url`), from the site's root."""
    parts = urlsplit(settings.SITE_URL)
    if (parts.scheme in ("http", "https") and parts.hostname and not parts.path
            and not parts.query and not parts.fragment):
        return []
    return [CheckError(
        f"SITE_URL is {settings.SITE_URL!r}: every link the site gives out would be wrong.",
        hint="Set SITE_URL to the site's scheme and host (and port), nothing after: "
             "SITE_URL=https://obmin.example", id="obmin.E002")]


@register()
def check_mail_settings(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    """Settings with which every send fails (in the worker, out of sight)."""
    problems: list[CheckMessage] = []
    if settings.EMAIL_BACKEND == FILE_EMAIL and not settings.EMAIL_FILE_PATH:
        problems.append(CheckError(
            "EMAIL_BACKEND is the file backend but EMAIL_FILE_PATH is not set: every e-mail "
            "would fail.", hint="Set EMAIL_FILE_PATH to a directory the worker may write.",
            id="obmin.E020"))
    if settings.EMAIL_USE_TLS and settings.EMAIL_USE_SSL:
        problems.append(CheckError(
            "EMAIL_USE_TLS and EMAIL_USE_SSL are both on: Django's SMTP backend refuses every "
            "e-mail.", hint="Keep one: EMAIL_USE_TLS=1 for STARTTLS (usually port 587), or "
                            "EMAIL_USE_SSL=1 for TLS from the start (usually port 465).",
            id="obmin.E021"))
    return problems
