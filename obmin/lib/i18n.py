"""Translation helpers that Django lacks: a %-template filled in lazily."""

from __future__ import annotations

from typing import Any

from django.utils.functional import lazy


def _fill(template: Any, params: dict[str, Any]) -> str:
    return str(template) % {name: str(value) for name, value in params.items()}


_lazy_fill = lazy(_fill, str)


def lazy_format(template: Any, **params: Any) -> Any:
    """`gettext_lazy(template) % params`, but translated when shown, not at import.

    `_("%(what)s, unix seconds") % {...}` at module level is evaluated once, in the default
    language; this keeps both the template and lazy params (other `gettext_lazy` strings)
    lazy, so each request reads them in its own language.
    """
    return _lazy_fill(template, params)
