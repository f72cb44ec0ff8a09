"""`obmin demo --no-serve --clicks N` adds a year of traffic in bulk; the books still agree and
the statistics count every generated click."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from obmin.partners.models import Click
from obmin.rewards.services import ledger_check
from obmin.stats.selectors import click_totals

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_generates_clicks_and_exchanges(tmp_path, settings):
    call_command("demo", no_serve=True, clicks=2000)
    generated = Click.objects.filter(user_agent="generated")
    assert generated.count() == 2000
    assert generated.values("partner").distinct().count() == 2
    humans = Click.objects.filter(is_bot=False).count()
    now = timezone.now()
    assert click_totals(partner_id=None, start=now - timedelta(days=400),
                        end=now + timedelta(hours=1))[0] == humans
    assert ledger_check() == []
    with pytest.raises(Exception, match="--clicks"):
        call_command("demo", no_serve=True, clicks=-1)
