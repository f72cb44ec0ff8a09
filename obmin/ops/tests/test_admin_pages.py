"""Every back-office page the operator can open answers, with the demo's data in it."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from obmin.exchange.models import Direction

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
