"""Keeps secrets (API keys, passwords, tokens) out of log lines and error reports.

`scrub` masks them in any text; `ScrubSecretsFilter` runs it over every log record (message and
traceback) on the configured handlers; `SecretsExceptionReporter` and its filter do the same for
Django's error reports (the 500 e-mails to ADMINS and the DEBUG page): query string, URL, form
fields, headers, cookies and frame variables whose names say secret, and a last pass of `scrub`
over the finished report.
"""

from __future__ import annotations

import logging
import re
from collections.abc import ItemsView
from typing import Any

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
_QUERY_SECRET = re.compile(r"(?i)\b(" + "|".join(SECRET_PARAMS) + r")=([^&\s\"']+)")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-\.]+")
# Partner API keys wherever they appear (a dict's repr, a JSON body), not only as `api_key=`.
_API_KEY = re.compile(r"\b(obm_(?:live|test)_)[A-Za-z0-9_\-]+")


def scrub(text: str) -> str:
    text = _QUERY_SECRET.sub(r"\1=********", text)
    text = _API_KEY.sub(r"\1********", text)
    return _BEARER.sub(r"\1********", text)


class ScrubSecretsFilter(logging.Filter):
    """Rewrites a record's message, and its traceback, so `api_key=...` never reaches a
    log handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = ()
        if record.exc_info and not record.exc_text:
            # Formatters print exc_text when it is set (an exception's text may hold a key).
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
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
