"""API keys: created once, stored as a hash, revocable, and the `obmin apikey` command."""

from __future__ import annotations

import hashlib

import pytest
from django.core.management import CommandError, call_command

from obmin.partner_api.models import ApiKey
from obmin.partner_api.selectors import apikey_for_raw, partner_api_keys
from obmin.partner_api.services import ApiKeyError, apikey_create, apikey_revoke


def test_key_is_shown_once_and_stored_only_as_hash(alice):
    key, raw = apikey_create(partner=alice, name="reports")
    assert raw.startswith("obm_live_") and len(raw) > 40
    row = ApiKey.objects.get(pk=key.pk)
    assert row.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = " ".join(str(v) for v in ApiKey.objects.values().get(pk=key.pk).values())
    assert raw not in stored
    assert row.key_start == raw[:13]
    assert row.name == "reports" and not row.is_test
    assert apikey_for_raw(raw) == row


def test_test_key_has_test_prefix(alice):
    key, raw = apikey_create(partner=alice, test=True)
    assert raw.startswith("obm_test_") and key.is_test


def test_allowed_ips_are_normalised_and_checked(alice):
    key, _raw = apikey_create(partner=alice, allowed_ips=["10.0.0.7/8", " 192.0.2.5 ", ""])
    assert key.allowed_ips == ["10.0.0.0/8", "192.0.2.5"]
    assert key.ip_allowed("10.20.30.40") and key.ip_allowed("192.0.2.5")
    assert not key.ip_allowed("192.0.2.6") and not key.ip_allowed("not an ip")
    with pytest.raises(ApiKeyError) as error:
        apikey_create(partner=alice, allowed_ips=["10.0.0.300"])
    assert error.value.field == "allowed_ips"


def test_revoke_only_own_key(alice, bob):
    key, raw = apikey_create(partner=alice)
    with pytest.raises(ApiKeyError):
        apikey_revoke(partner=bob, key_id=key.pk)
    assert apikey_for_raw(raw) is not None
    revoked = apikey_revoke(partner=alice, key_id=key.pk)
    assert revoked.revoked_at is not None
    assert apikey_for_raw(raw) is None
    assert list(partner_api_keys(alice)) == [revoked]
    assert list(partner_api_keys(bob)) == []


def test_command_prints_key_last(alice, capsys):
    call_command("apikey", "create", "ALICE@example.com", "--test")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("obm_test_")
    assert apikey_for_raw(lines[-1]).partner == alice


def test_command_unknown_email_fails(db):
    with pytest.raises(CommandError, match="nobody@example.com"):
        call_command("apikey", "create", "nobody@example.com")
    assert not ApiKey.objects.exists()
