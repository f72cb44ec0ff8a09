"""Keeps secrets (API keys, passwords) out of log lines and error reports."""

from __future__ import annotations

import logging
import re
from collections.abc import ItemsView
from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter

SECRET_PARAMS = ("api_key", "password", "token")
_QUERY_SECRET = re.compile(r"(?i)\b(" + "|".join(SECRET_PARAMS) + r")=([^&\s\"']+)")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-\.]+")
# Partner API keys wherever they appear (a dict's repr, a JSON body), not only as `api_key=`.
_API_KEY = re.compile(r"\b(obm_(?:live|test)_)[A-Za-z0-9_\-]+")


def scrub(text: str) -> str:
    text = _QUERY_SECRET.sub(r"\1=********", text)
    text = _API_KEY.sub(r"\1********", text)
    return _BEARER.sub(r"\1********", text)


class ScrubSecretsFilter(logging.Filter):
    """Rewrites a record's message so `api_key=...` never reaches a log handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = ()
        return True


class SecretsExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error reports (500 e-mails, debug pages) hide API keys as they hide passwords."""

    hidden_settings = re.compile(
        "API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|HTTP_AUTHORIZATION", flags=re.I
    )

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        params = super().get_post_parameters(request)
        if request is not None and hasattr(params, "copy"):
            params = params.copy()
            for name in SECRET_PARAMS:
                if name in params:
                    params[name] = self.cleansed_substitute
        return params

    def get_traceback_frame_variables(self, request: HttpRequest | None,
                                      tb_frame: Any) -> ItemsView[str, Any]:
        return {
            name: self.cleansed_substitute if name in SECRET_PARAMS else value
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        }.items()
