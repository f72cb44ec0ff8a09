"""The operator's pages: blocking partners, reading clicks, the program's settings."""

from __future__ import annotations

import pytest
from django.urls import reverse

from obmin.partners.models import Click, Partner, ReferralSettings
from obmin.partners.program import program_settings
from obmin.partners.tests.conftest import CHROME, GOOGLEBOT

pytestmark = pytest.mark.django_db


def test_block_and_unblock_actions_take_effect_on_the_next_click(client, carol, alice, bob,
                                                                 pm_btc):
    visitor = client.__class__()
    visitor.get("/ref/alice001/", HTTP_USER_AGENT=CHROME)  # alice's code is now cached
    client.force_login(carol)
    url = reverse("admin:partners_partner_changelist")
    response = client.post(url, {"action": "block", "_selected_action": [alice.pk]}, follow=True)
    assert "1 partner blocked." in response.content.decode()
    assert list(Partner.objects.filter(is_blocked=True)) == [alice]
    visitor.cookies.clear()
    assert visitor.get("/ref/alice001/", HTTP_USER_AGENT=CHROME).status_code == 302
    assert Click.objects.count() == 1

    client.post(url, {"action": "unblock", "_selected_action": [alice.pk, bob.pk]})
    assert not Partner.objects.filter(is_blocked=True).exists()
    visitor.get("/ref/alice001/", HTTP_USER_AGENT=CHROME)
    assert Click.objects.count() == 2


def test_clicks_are_listed_read_only_with_a_crawler_filter(client, carol, alice, pm_btc):
    visitor = client.__class__()
    visitor.get("/ref/alice001/", HTTP_USER_AGENT=CHROME)
    visitor.get("/ref/alice001/", HTTP_USER_AGENT=GOOGLEBOT)
    client.force_login(carol)
    url = reverse("admin:partners_click_changelist")
    assert client.get(url).context["cl"].result_count == 2
    bots = client.get(url, {"is_bot__exact": "1"}).context["cl"]
    assert [c.browser for c in bots.result_list] == ["Googlebot 2"]
    click = Click.objects.first()
    change = client.get(reverse("admin:partners_click_change", args=[click.pk]))
    assert change.status_code == 200 and b'name="browser"' not in change.content
    assert client.post(reverse("admin:partners_click_delete", args=[click.pk]),
                       {"post": "yes"}).status_code == 403
    assert Click.objects.count() == 2


def test_program_settings_page_saves_and_applies_at_once(client, carol):
    client.force_login(carol)
    assert program_settings().cookie_days == 365  # cached now
    page = client.get(reverse("admin:partners_referralsettings_changelist"), follow=True)
    assert page.status_code == 200
    url = reverse("admin:partners_referralsettings_change", args=[1])
    response = client.post(url, {"cookie_days": "90", "mask_ips": "on",
                                 "archive_after_days": "180"})
    assert response.status_code == 302
    assert ReferralSettings.objects.get().cookie_days == 90
    current = program_settings()
    assert (current.cookie_days, current.mask_ips, current.trust_forwarded_for,
            current.archive_after_days) == (90, True, False, 180)
    assert client.post(url, {"cookie_days": "0", "archive_after_days": "0"}).status_code == 200
    assert ReferralSettings.objects.get().cookie_days == 90


def test_clicks_filter_by_partner_bot_and_unique_newest_first(client, carol, alice, bob, pm_btc):
    visitor = client.__class__()
    visitor.get("/ref/alice001/", HTTP_USER_AGENT=CHROME)
    visitor.get("/ref/alice001/", HTTP_USER_AGENT=GOOGLEBOT)
    client.__class__().get(f"/ref/{bob.ref_code}/", HTTP_USER_AGENT=CHROME)
    client.force_login(carol)
    url = reverse("admin:partners_click_changelist")

    def listed(**query: str) -> list[Click]:
        return list(client.get(url, query).context["cl"].result_list)

    everyone = listed()
    assert len(everyone) == 3
    assert [c.pk for c in everyone] == sorted((c.pk for c in everyone), reverse=True)
    assert {c.partner_id for c in listed(partner=str(alice.pk))} == {alice.pk}
    assert len(listed(partner=str(alice.pk))) == 2
    assert [c.partner_id for c in listed(partner=str(bob.pk))] == [bob.pk]
    assert [c.is_bot for c in listed(is_bot__exact="1")] == [True]
    assert all(c.is_unique for c in listed(is_unique__exact="1"))


def test_partner_created_time_is_read_only(client, carol, alice):
    client.force_login(carol)
    page = client.get(reverse("admin:partners_partner_change", args=[alice.pk]))
    assert page.status_code == 200 and b'name="created_at"' not in page.content
