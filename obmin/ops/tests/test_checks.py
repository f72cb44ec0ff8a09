"""`obmin check --deploy` names what production lacks, and is quiet when it is all there."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from obmin.ops.checks import check_mail_settings, check_production_settings, check_site_url


def ids(problems) -> set[str]:
    return {p.id for p in problems}


def test_demo_settings_are_flagged(settings, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings.SECRET_KEY = "django-insecure-obmin-demo-key-change-me"
    settings.REDIS_URL = ""
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.EMAIL_BACKEND = "obmin.lib.mail.ConsoleBackend"
    settings.METRICS_TOKEN = ""
    assert ids(check_production_settings(None)) == {"obmin.E001", "obmin.W001", "obmin.W002",
                                                    "obmin.W003", "obmin.W010", "obmin.W020"}
    assert "obmin.E001" in ids(run_checks(include_deployment_checks=True))


def test_production_settings_pass(settings, monkeypatch):
    production(settings, monkeypatch)
    assert check_production_settings(None) == []


def production(settings, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://db/obmin")
    settings.SECRET_KEY = "x" * 60
    settings.REDIS_URL = "redis://cache:6379/0"
    settings.SITE_URL = "https://obmin.example"
    settings.ALLOWED_HOSTS = ["obmin.example"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.METRICS_TOKEN = "scrape-token-0123456789"


def test_a_site_url_where_browsers_refuse_passkeys_is_flagged(settings, monkeypatch):
    production(settings, monkeypatch)
    settings.ALLOWED_HOSTS = ["obmin.example", "203.0.113.7"]
    settings.SITE_URL = "http://obmin.example"
    [problem] = check_production_settings(None)
    assert problem.id == "obmin.W030" and "passkeys" in problem.msg
    settings.SITE_URL = "https://203.0.113.7"
    assert ids(check_production_settings(None)) == {"obmin.W030"}


def test_the_console_mail_backend_is_flagged(settings, monkeypatch):
    production(settings, monkeypatch)
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    [problem] = check_production_settings(None)
    assert problem.id == "obmin.W020" and "obmin mail test" in problem.hint


@pytest.mark.django_db
def test_requests_on_another_host_than_site_url_are_flagged(settings, monkeypatch, client):
    production(settings, monkeypatch)
    settings.ALLOWED_HOSTS = ["obmin.example", "old-name.example"]
    assert client.get("/health/live", HTTP_HOST="old-name.example").status_code == 200
    assert check_production_settings(None) == []  # probes are not visitors
    client.get("/", HTTP_HOST="obmin.example")
    assert check_production_settings(None) == []  # the public address itself
    client.get("/", HTTP_HOST="old-name.example")
    [problem] = check_production_settings(None)
    assert problem.id == "obmin.W021" and "old-name.example" in problem.msg
    assert "SITE_URL=https://old-name.example" in problem.hint
    settings.SITE_URL = "https://old-name.example"  # fixed: what was noted no longer differs
    assert check_production_settings(None) == []


def test_the_file_mail_backend_needs_its_directory(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = None
    assert ids(check_mail_settings(None)) == {"obmin.E020"}
    settings.EMAIL_FILE_PATH = str(tmp_path)
    assert check_mail_settings(None) == []


def test_tls_and_ssl_together_are_an_error(settings):
    """Django refuses every send when both are on; `obmin check` says so before the worker
    finds out, one e-mail at a time."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = True
    [problem] = check_mail_settings(None)
    assert problem.id == "obmin.E021" and "EMAIL_USE_TLS" in problem.msg
    settings.EMAIL_USE_SSL = False
    assert check_mail_settings(None) == []


@pytest.mark.parametrize("backend", ["django.core.mail.backends.dummy.EmailBackend",
                                     "django.core.mail.backends.locmem.EmailBackend"])
def test_a_mail_backend_that_sends_nothing_is_flagged(settings, monkeypatch, backend):
    production(settings, monkeypatch)
    settings.EMAIL_BACKEND = backend
    [problem] = check_production_settings(None)
    assert problem.id == "obmin.W020" and "not sent" in problem.msg


@pytest.mark.parametrize("site_url", ["obmin.example", "ftp://obmin.example", "https://",
                                      "https://obmin.example/exchange", "https://obmin.example?x=1"])
def test_a_site_url_that_cannot_start_a_link_is_an_error(settings, site_url):
    """Every absolute link is SITE_URL + path: without a scheme and host, or with a path of
    its own (the site is served at its root), every link given out is wrong."""
    settings.SITE_URL = site_url
    [problem] = check_site_url(None)
    assert problem.id == "obmin.E002" and site_url in problem.msg
    settings.SITE_URL = "https://obmin.example:8443"
    assert check_site_url(None) == []


def test_a_site_url_host_that_is_not_allowed_is_flagged(settings, monkeypatch):
    """Django answers 400 to every request on a host outside ALLOWED_HOSTS: the links given
    out would all be refused."""
    production(settings, monkeypatch)
    settings.ALLOWED_HOSTS = ["www.obmin.example"]
    [problem] = check_production_settings(None)
    assert problem.id == "obmin.W022" and "obmin.example" in problem.msg
    settings.ALLOWED_HOSTS = [".obmin.example"]  # the domain and its subdomains
    assert check_production_settings(None) == []
