"""The one public address: every absolute link is SITE_URL plus a path; a request on another
host is noted (once a minute per process) for `obmin check --deploy`."""

from __future__ import annotations

from django.test import RequestFactory

from obmin.lib.site import (
    SeenHostMiddleware,
    foreign_host_seen,
    public_host,
    public_hostname,
    public_origin,
    public_url,
)


def test_public_url_is_site_url_and_the_path(settings):
    settings.SITE_URL = "https://obmin.example"
    assert public_url("/ref/alice001/") == "https://obmin.example/ref/alice001/"
    assert public_url("") == "https://obmin.example"
    settings.SITE_URL = "http://127.0.0.1:18200"
    assert public_host() == "127.0.0.1:18200"


def test_origin_and_hostname_are_site_urls(settings):
    settings.SITE_URL = "https://Obmin.example/some/prefix"
    assert public_origin() == "https://obmin.example"
    assert public_hostname() == "obmin.example"
    settings.SITE_URL = "http://localhost:8123"
    assert public_origin() == "http://localhost:8123"
    assert public_hostname() == "localhost"


def test_a_foreign_host_is_noted_once_a_minute(settings, time_machine):
    settings.SITE_URL = "https://obmin.example"
    settings.ALLOWED_HOSTS = ["obmin.example", "other.example", "third.example"]
    answered = []
    middleware = SeenHostMiddleware(lambda request: answered.append(request) or "answer")
    factory = RequestFactory()
    assert middleware(factory.get("/", HTTP_HOST="obmin.example")) == "answer"
    assert foreign_host_seen() is None
    middleware(factory.get("/cabinet/", HTTP_HOST="Other.example"))
    host, when = foreign_host_seen()
    assert host == "other.example"
    middleware(factory.get("/", HTTP_HOST="evil.example"))  # refused by ALLOWED_HOSTS: not noted
    middleware(factory.get("/health/ready", HTTP_HOST="third.example"))  # a probe
    assert foreign_host_seen() == (host, when)
    assert len(answered) == 4

