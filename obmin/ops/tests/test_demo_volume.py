"""`obmin demo --no-serve --clicks N` adds a year of traffic in bulk; the books still agree and
the statistics count every generated click."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.utils import timezone

from obmin.exchange.models import Exchange
from obmin.ops.admin import PartnerSummaryAdmin
from obmin.partners.models import Click, Partner
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


@pytest.mark.parametrize("worker_first", [True, False])
def test_after_the_demo_and_generated_traffic_the_cabinet_counts_every_exchange(
        client, worker_first):
    """The README's order: `obmin demo` (its worker rolls the statistics up), then
    `obmin demo --no-serve --clicks N` with rows a year back; and the other way round."""
    if worker_first:
        call_command("demo", no_serve=True)
        call_command("worker", burst=True)  # the worker `obmin demo` starts beside its server
        call_command("demo", no_serve=True, clicks=400)
    else:
        call_command("demo", no_serve=True, clicks=400)
        call_command("demo", no_serve=True)
        call_command("worker", burst=True)
    alice = Partner.objects.get(ref_code="alice001")
    client.force_login(alice.user)
    today = timezone.now().date()
    year = f"period=custom&from={today - timedelta(days=366)}&to={today}"
    listed = len(client.get(f"/cabinet/exchanges/csv?{year}").getvalue().splitlines()) - 1
    assert listed == Exchange.objects.filter(partner=alice).count() > 20
    totals = client.get(f"/cabinet/stats/?{year}").context["compare"].current
    assert totals.exchanges == listed
    # The admin's partner page shows the cabinet's own 30 days.
    month = client.get("/cabinet/stats/?period=30d").context["compare"].current
    summary = PartnerSummaryAdmin(Partner, admin.site).last_30_days(alice)
    assert summary.startswith(f"{month.clicks} clicks ({month.unique_clicks} unique), "
                              f"{month.exchanges} exchanges ({month.successful} successful)")
