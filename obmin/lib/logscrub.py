"""Keeps secrets (API keys, passwords, tokens) out of log lines and error reports.

`scrub` masks them in any text: parameters whose name (percent-decoded, in any case) says
secret, `"password": ...` in dicts and JSON, tokens in paths (password reset, sign-up and e-mail
change confirmations, `/exchange/<token>/`), partner API keys and Bearer tokens.
`ScrubSecretsFilter` runs it over every log record (message and traceback) on the configured
handlers; `SecretsExceptionReporter` and its filter do the same for
Django's error reports (the 500 e-mails to ADMINS and the DEBUG page): query string, URL, form
fields, headers, cookies and frame variables whose names say secret, and a last pass of `scrub`
over the finished report.
"""

from __future__ import annotations

import logging
import re
from collections.abc import ItemsView
from typing import Any
from urllib.parse import unquote_plus

from django.http import HttpRequest, QueryDict
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

SECRET_PARAMS = ("api_key", "password", "token")
# Names of parameters, headers (META), cookies, settings and variables whose values are hidden
# in error reports: API-KEY and Authorization headers, passwords, tokens, sessions.
SECRET_NAMES = re.compile(
    "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|SESSION|CSRF|COOKIE|AUTHORIZATION", flags=re.I)
# META values that carry the query string or the whole URL.
_URL_META = ("QUERY_STRING", "REQUEST_URI", "RAW_URI", "PATH_INFO", "HTTP_REFERER")
MASK = "********"

# A query parameter (or any `name=value` in a line): its name is judged once percent-decoded
# (`api%5Fkey`, `api%255Fkey`, `%61pi_key`), in any case, `-` read as `_`; its value too, when
# percent-encoded, for a key's prefix.
_PAIR = re.compile(r"(?<![\w.%\-\[\]+])([\w.%\-\[\]+]{1,100})=([^&\s\"';,]+)")
_SECRET_PARAM = re.compile(
    r"api_?key|key|hash|sessionid|.*(?:password|passwd|token|secret|signature).*", flags=re.I)
# `'api_key': '...'`, `"password":"..."`, `token: ...` in dicts, JSON and messages.
_QUOTED_SECRET = re.compile(
    r"""(?i)(["']?\b(?:api[_-]?key|password|token|secret)["']?\s*[:=]\s*["']?)"""
    r"""(?!obm_(?:live|test)_\*)([^"'\s,}&]+)""")
# Tokens in paths: password reset (/reset/<uid>/<token>/), sign-up and e-mail change
# confirmations, and an exchange's own page (its token lets anyone view it and say "paid").
_PATH_TOKEN = re.compile(
    r"(/(?:cabinet/signup/confirm|cabinet/account/email/confirm|exchange)/)([^/\s?#\"']+)")
_RESET_TOKEN = re.compile(r"(/cabinet/password/reset/)([^/\s?#\"']+)/([^/\s?#\"']+)")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-\.]+")
# Partner API keys wherever they appear (a dict's repr, a JSON body), not only as `api_key=`.
_API_KEY = re.compile(r"\b(obm_(?:live|test)_)[A-Za-z0-9_\-]+")


def _decoded(name: str) -> str:
    for _round in range(3):  # double-encoded names too (`api%255Fkey`)
        unquoted = unquote_plus(name)
        if unquoted == name:
            break
        name = unquoted
    return name.replace("-", "_")


def _pair(match: re.Match[str]) -> str:
    name, value = match.groups()
    # A key percent-encoded byte by byte hides its prefix from `_API_KEY`, whatever its name.
    if (_SECRET_PARAM.fullmatch(_decoded(name))
            or ("%" in value and _API_KEY.search(_decoded(value)))):
        return f"{name}={MASK}"
    return match.group(0)


def _reset(match: re.Match[str]) -> str:
    if match.group(3) == "set-password":  # Django's own step after the token, none in it
        return match.group(0)
    return f"{match.group(1)}{MASK}/{MASK}"


def scrub(text: str) -> str:
    """The text with every secret and token masked (see the module's docstring)."""
    if "=" in text:
        text = _PAIR.sub(_pair, text)
    text = _API_KEY.sub(rf"\1{MASK}", text)  # first: its prefix stays readable
    text = _QUOTED_SECRET.sub(rf"\1{MASK}", text)
    if "/" in text:
        text = _RESET_TOKEN.sub(_reset, text)
        text = _PATH_TOKEN.sub(rf"\1{MASK}", text)
    return _BEARER.sub(rf"\1{MASK}", text)


class ScrubSecretsFilter(logging.Filter):
    """Rewrites a record's message, and its traceback, so `api_key=...` never reaches a
    log handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        # The access line (obmin.lib.accesslog) is made of parts scrubbed already: its path
        # and method, an address and numbers. Scrubbing it again cost a tenth of a poll.
        if not getattr(record, "scrubbed", False):
            message = record.getMessage()
            cleaned = scrub(message)
            if cleaned != message:
                record.msg = cleaned
                record.args = ()
        if record.exc_info and not record.exc_text:
            # Formatters print exc_text when it is set (an exception's text may hold a key).
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True


class WithoutTraceback(logging.Filter):
    """Drops a record's traceback: a refused request (a Host outside ALLOWED_HOSTS, an
    unreadable body) is one line in the log, not fifteen."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return True


class SecretsExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error reports (500 e-mails, debug pages) hide API keys as they hide passwords."""

    hidden_settings = SECRET_NAMES

    def _cleansed(self, params: QueryDict) -> QueryDict:
        params = params.copy()
        for name in params:
            if SECRET_NAMES.search(name):
                params.setlist(name, [self.cleansed_substitute])
        return params

    def get_query_parameters(self, request: HttpRequest) -> QueryDict:
        return self._cleansed(request.GET)

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        params = super().get_post_parameters(request)
        if request is not None and isinstance(params, QueryDict):
            params = self._cleansed(params)
        return params

    def get_safe_request_meta(self, request: HttpRequest) -> dict[str, Any]:
        meta = super().get_safe_request_meta(request)
        for name in _URL_META:
            if isinstance(meta.get(name), str):
                meta[name] = scrub(meta[name])
        return meta

    def get_traceback_frame_variables(self, request: HttpRequest | None,
                                      tb_frame: Any) -> ItemsView[str, Any]:
        return {
            name: self.cleansed_substitute if SECRET_NAMES.search(name) else value
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        }.items()


class SecretsExceptionReporter(ExceptionReporter):
    """Django's error report with the query string's secrets hidden too (Django shows GET
    parameters and the URL as sent), and `scrub` over the finished text and HTML."""

    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        if self.request is not None and isinstance(self.filter, SecretsExceptionReporterFilter):
            data["request_GET_items"] = self.filter.get_query_parameters(self.request).items()
            if "request_insecure_uri" in data:
                data["request_insecure_uri"] = scrub(str(data["request_insecure_uri"]))
        return data

    def get_traceback_html(self) -> SafeString:
        # Still safe: scrub only replaces secret values by asterisks.
        return mark_safe(scrub(super().get_traceback_html()))  # noqa: S308

    def get_traceback_text(self) -> SafeString:
        return mark_safe(scrub(super().get_traceback_text()))  # noqa: S308
