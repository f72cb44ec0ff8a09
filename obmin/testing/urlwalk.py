"""Every URL the project answers, read from the URL conf, so a test can prove it covers them all
(the access-control table in obmin/ops/tests/test_access_control.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern


@dataclass(frozen=True)
class UrlRoute:
    """One URL pattern with the prefixes and namespaces of the includes above it."""

    name: str  # "namespace:name"; "" for an unnamed pattern
    pattern: str  # the full pattern as Django prints it, prefixes included
    kwargs: tuple[str, ...]  # the names of the values the URL needs

    @property
    def key(self) -> str:
        """What a table of expectations names this route by: its name, else its pattern."""
        return self.name or self.pattern


def _arguments(pattern: RoutePattern | RegexPattern) -> tuple[str, ...]:
    if isinstance(pattern, RoutePattern):
        return tuple(pattern.converters)
    return tuple(pattern.regex.groupindex)


def _walk(patterns: Sequence[URLPattern | URLResolver], prefix: str, namespaces: tuple[str, ...],
          kwargs: tuple[str, ...]) -> Iterator[UrlRoute]:
    for entry in patterns:
        pattern = entry.pattern
        assert isinstance(pattern, RoutePattern | RegexPattern), pattern
        text = prefix + str(pattern)
        names = kwargs + _arguments(pattern)
        if isinstance(entry, URLResolver):
            inner = namespaces + ((entry.namespace,) if entry.namespace else ())
            yield from _walk(entry.url_patterns, text, inner, names)
        else:
            name = ":".join((*namespaces, entry.name)) if entry.name else ""
            yield UrlRoute(name=name, pattern=text, kwargs=names)


def url_routes(urlconf: str | None = None) -> list[UrlRoute]:
    """Every pattern of the URL conf (the project's by default), includes walked recursively,
    the admin's generated URLs among them."""
    return list(_walk(get_resolver(urlconf).url_patterns, "", (), ()))
