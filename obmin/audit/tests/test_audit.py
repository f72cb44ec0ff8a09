"""The audit trail: who did what from where, before and after; append-only; the admin reads,
filters and downloads it and cannot change it."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission

from obmin.audit.models import AuditEntry, AuditImmutable
from obmin.audit.services import audit_record
from obmin.partner_api.services import apikey_create, apikey_revoke
from obmin.rewards.models import RewardLevel, RewardOverride
from obmin.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_an_entry_can_be_neither_changed_nor_removed(alice):
    entry = audit_record(action="payout.paid", obj=alice, before={"status": 0},
                         after={"status": 1, "amount": Decimal("1.50")})
    assert (entry.actor, entry.address, entry.object_type) == ("system", "", "partners.partner")
    assert AuditEntry.objects.get().after == {"status": 1, "amount": "1.50"}
    entry.actor = "someone else"
    with pytest.raises(AuditImmutable):
        entry.save()
    with pytest.raises(AuditImmutable):
        entry.delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.all().delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.update(actor="x")


def test_api_keys_created_and_revoked_leave_a_trace(alice):
    key, _raw = apikey_create(partner=alice, name="shop")
    apikey_revoke(partner=alice, key_id=key.pk)
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "object_id"))
    assert actions == [("apikey.created", str(key.pk)), ("apikey.revoked", str(key.pk))]
    created = AuditEntry.objects.get(action="apikey.created")
    assert created.after["key_start"] == key.key_start
    assert created.after["name"] == "shop"


def test_rule_changes_made_in_the_admin_name_the_operator_and_the_address(client, carol, alice,
                                                                           pm_btc):
    client.force_login(carol)
    response = client.post("/admin/rewards/rewardoverride/add/", {
        "partner": alice.pk, "direction": "", "kind": "percent", "value": "40", "note": ""},
        REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302
    override = RewardOverride.objects.get()
    response = client.post(f"/admin/rewards/rewardoverride/{override.pk}/change/", {
        "partner": alice.pk, "direction": "", "kind": "percent", "value": "45", "note": ""},
        REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302
    client.post(f"/admin/rewards/rewardoverride/{override.pk}/delete/", {"post": "yes"},
                REMOTE_ADDR="198.51.100.7")
    entries = list(AuditEntry.objects.filter(object_type="rewards.rewardoverride")
                   .order_by("id"))
    assert [e.action for e in entries] == ["rule.created", "rule.changed", "rule.deleted"]
    assert {e.actor for e in entries} == {"staff:carol@example.com"}
    assert {e.address for e in entries} == {"198.51.100.7"}
    assert entries[1].before["value"] == "40.0000" or Decimal(entries[1].before["value"]) == 40
    assert Decimal(entries[1].after["value"]) == 45


def test_an_unchanged_save_records_nothing(program):
    level = RewardLevel.objects.get(min_turnover=0)
    count = AuditEntry.objects.count()
    level.save()
    assert AuditEntry.objects.count() == count


def test_staff_permission_changes_are_recorded(carol):
    # A new staff member is a permission change; a new partner's user is none.
    assert AuditEntry.objects.get(object_id=str(carol.pk)).after["is_superuser"] is True
    dave = UserFactory(email="dave@example.com")
    assert not AuditEntry.objects.filter(object_id=str(dave.pk)).exists()
    dave.is_staff = True
    dave.save()
    group = Group.objects.create(name="payouts")
    dave.groups.add(group)
    permission = Permission.objects.get(codename="change_rewardreview")
    dave.user_permissions.add(permission)
    dave.user_permissions.remove(permission)
    entries = list(AuditEntry.objects.filter(action="staff.changed", object_id=str(dave.pk))
                   .order_by("id"))
    assert [(e.before, e.after) for e in entries] == [
        ({"is_staff": False, "is_superuser": False, "is_active": True},
         {"is_staff": True, "is_superuser": False, "is_active": True}),
        ({"groups": []}, {"groups": ["payouts"]}),
        ({"user_permissions": []}, {"user_permissions": ["rewards.change_rewardreview"]}),
        ({"user_permissions": ["rewards.change_rewardreview"]}, {"user_permissions": []}),
    ]
    assert {e.object_repr for e in entries} == {dave.get_username()}


def test_admin_lists_filters_and_downloads_but_cannot_edit(client, carol, alice):
    audit_record(action="payout.paid", obj=alice, actor="staff:carol", after={"n": "=1+1"})
    audit_record(action="apikey.created", obj=alice, actor="partner:alice")
    client.force_login(carol)
    page = client.get("/admin/audit/auditentry/?action__exact=payout.paid")
    assert page.status_code == 200
    assert "staff:carol" in page.text and "partner:alice" not in page.text
    assert "Download CSV" in page.text
    entry = AuditEntry.objects.get(action="payout.paid")
    assert client.get(f"/admin/audit/auditentry/{entry.pk}/change/").status_code == 200
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/",
                       {"post": "yes"}).status_code == 403
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    download = client.get("/admin/audit/auditentry/csv/?action__exact=payout.paid")
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content)
                                       .decode("utf-8-sig"))))
    assert rows[0][:5] == ["id", "time", "actor", "address", "action"]
    assert len(rows) == 2 and rows[1][2] == "staff:carol" and rows[1][4] == "payout.paid"
    assert rows[1][9] == '{"n": "=1+1"}'


def test_partners_cannot_read_the_trail(client, alice):
    client.force_login(alice.user)
    assert client.get("/admin/audit/auditentry/csv/").status_code == 302
