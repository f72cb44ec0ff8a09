"""Every back-office page the operator can open answers, with the demo's data in it."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from obmin.exchange.models import Direction, Exchange
from obmin.partners.models import Partner

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("demo", "--no-serve")


def test_every_changelist_and_first_change_page_opens(client, carol, demo):
    client.force_login(carol)
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = client.get(url, follow=True)  # singletons redirect to their one row
        assert response.status_code == 200, url
        first = model_admin.get_queryset(response.wsgi_request).first()
        if first is not None:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
            assert client.get(url).status_code == 200, url


def test_editing_a_rate_in_the_list_stamps_its_time(client, carol, pm_btc, pm_usdt):
    client.force_login(carol)
    direction = Direction.objects.order_by("pk").first()
    before = direction.rate_updated_at
    url = reverse("admin:exchange_direction_changelist")
    page = client.get(url, {"q": ""})
    formset_ids = list(page.context["cl"].result_list.values_list("pk", flat=True))
    data = {"form-TOTAL_FORMS": len(formset_ids), "form-INITIAL_FORMS": len(formset_ids),
            "_save": "Save"}
    for i, pk in enumerate(formset_ids):
        d = Direction.objects.get(pk=pk)
        data.update({f"form-{i}-id": pk, f"form-{i}-rate_give": d.rate_give,
                     f"form-{i}-rate_get": d.rate_get, f"form-{i}-min_amount": d.min_amount,
                     f"form-{i}-max_amount": d.max_amount,
                     f"form-{i}-is_active": "on" if d.is_active else ""})
    index = formset_ids.index(direction.pk)
    data[f"form-{index}-rate_get"] = "123.45"
    response = client.post(url, data)
    assert response.status_code == 302
    direction.refresh_from_db()
    assert str(direction.rate_get.normalize()) == "123.45"
    assert direction.rate_updated_at > before


def test_lists_show_currency_codes_and_clean_amounts(client, carol, demo):
    client.force_login(carol)
    for page in ("exchange/exchange", "exchange/direction", "rewards/payout",
                 "rewards/ledgerentry", "rewards/partneraccount", "partners/click"):
        text = client.get(f"/admin/{page}/").content.decode()
        assert "0000000000" not in text and "E-10" not in text, page
    exchange = Exchange.objects.select_related("currency_give", "currency_get").first()
    assert exchange is not None
    text = client.get("/admin/exchange/exchange/").content.decode()
    assert f"{exchange.currency_give.code}</td>" in text
    assert str(exchange).startswith(f"#{exchange.pk} ")
    assert f"{exchange.currency_give.code} → {exchange.currency_get.code}" in str(exchange)
    # The directions' list has a reserve column: the reserve of the currency each gives out.
    direction = Direction.objects.select_related("currency_get").first()
    assert direction is not None
    text = client.get("/admin/exchange/direction/").content.decode()
    assert 'class="column-reserve_get"' in text
    currency_url = reverse("admin:exchange_currency_change", args=[direction.currency_get.pk])
    assert f'<a href="{currency_url}">' in text


def test_direction_form_shows_the_reserve_linked_to_its_currency(client, carol, pm_btc):
    client.force_login(carol)
    url = reverse("admin:exchange_direction_change", args=[pm_btc.pk])
    text = client.get(url).content.decode()
    currency_url = reverse("admin:exchange_currency_change", args=[pm_btc.currency_get.pk])
    assert f'<a href="{currency_url}">' in text and "0000000000" not in text


def test_partner_page_shows_balance_payouts_figures_keys_and_lists(client, carol, demo):
    client.force_login(carol)
    partner = Partner.objects.order_by("pk").first()
    assert partner is not None
    text = client.get(reverse("admin:partners_partner_change", args=[partner.pk])).content.decode()
    for label in ("Balance, USD", "Pending payouts", "Last 30 days", "API keys"):
        assert label in text, label
    clicks = f"{reverse('admin:partners_click_changelist')}?partner={partner.pk}"
    assert clicks in text and reverse("admin:exchange_exchange_changelist") in text
    assert client.get(clicks).status_code == 200
