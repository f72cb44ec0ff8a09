"""`obmin check --deploy` names what production lacks, and is quiet when it is all there."""

from __future__ import annotations

from django.core.checks import run_checks

from obmin.ops.checks import check_production_settings


def ids(problems) -> set[str]:
    return {p.id for p in problems}


def test_demo_settings_are_flagged(settings, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings.SECRET_KEY = "django-insecure-obmin-demo-key-change-me"
    settings.REDIS_URL = ""
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.METRICS_TOKEN = ""
    assert ids(check_production_settings(None)) == {"obmin.E001", "obmin.W001", "obmin.W002",
                                                    "obmin.W003", "obmin.W010"}
    assert "obmin.E001" in ids(run_checks(include_deployment_checks=True))


def test_production_settings_pass(settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://db/obmin")
    settings.SECRET_KEY = "x" * 60
    settings.REDIS_URL = "redis://cache:6379/0"
    settings.SITE_URL = "https://obmin.example"
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    assert check_production_settings(None) == []
