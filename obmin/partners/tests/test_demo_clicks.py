"""The demo's clicks: a few hundred, several browsers, some robots, loaded once."""

from __future__ import annotations

import pytest

from obmin.ops.demo import DEMO_STEPS
from obmin.partners.demo import load_clicks
from obmin.partners.models import Click

pytestmark = pytest.mark.django_db


def test_demo_clicks_are_plausible_and_loaded_once(alice, bob):
    assert load_clicks in DEMO_STEPS
    load_clicks()
    total = Click.objects.count()
    assert 200 <= total <= 600
    assert Click.objects.filter(partner=alice).exists() and Click.objects.filter(
        partner=bob).exists()
    assert Click.objects.filter(is_bot=True).exists()
    assert Click.objects.filter(is_bot=False).values("browser").distinct().count() >= 5
    assert not Click.objects.filter(is_bot=True, is_unique=True).exists()
    assert all(ip.endswith(".0") for ip in Click.objects.values_list("ip", flat=True))
    load_clicks()
    assert Click.objects.count() == total
