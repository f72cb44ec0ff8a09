"""'Create API Access' in the cabinet: the key is shown once, stored hashed, revocable."""

from __future__ import annotations

import pytest

from obmin.partner_api.models import ApiKey

pytestmark = pytest.mark.django_db


def test_create_shows_the_key_once_and_keeps_only_a_hash(client, alice):
    client.force_login(alice.user)
    response = client.post("/cabinet/api/", {"name": "accounting"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    raw = response.context["new_key"]["raw"]
    assert raw.startswith("obm_live_") and raw in response.content.decode()
    key = ApiKey.objects.get(partner=alice)
    assert key.name == "accounting" and raw not in key.key_hash
    assert not ApiKey.objects.filter(key_hash=raw).exists()
    # Never shown again.
    assert raw not in client.get("/cabinet/api/").content.decode()
    # And it works against the API.
    api = client.get("/service/partner/api.php", {"api_action": "pp", "method": "get_info"},
                     HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.json()["status"] == "success"


def test_test_key_and_ip_allow_list(client, alice):
    client.force_login(alice.user)
    response = client.post("/cabinet/api/", {"test": "on", "allowed_ips": "10.0.0.0/8, 127.0.0.1"})
    assert response.context["new_key"]["raw"].startswith("obm_test_")
    assert ApiKey.objects.get().allowed_ips == ["10.0.0.0/8", "127.0.0.1"]


def test_bad_ip_is_a_form_error_and_creates_nothing(client, alice):
    client.force_login(alice.user)
    response = client.post("/cabinet/api/", {"allowed_ips": "not-an-ip"})
    assert response.status_code == 400
    assert "not an IP address" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_revoke_own_key_but_never_anothers(client, alice, bob):
    client.force_login(bob.user)
    client.post("/cabinet/api/", {"name": "bob's"})
    bobs = ApiKey.objects.get(partner=bob)
    client.force_login(alice.user)
    client.post("/cabinet/api/", {"name": "alice's"})
    alices = ApiKey.objects.get(partner=alice)
    response = client.post(f"/cabinet/api/{bobs.pk}/revoke/", follow=True)
    assert "No such API key" in response.content.decode()
    bobs.refresh_from_db()
    assert bobs.revoked_at is None
    assert "bob&#x27;s" not in client.get("/cabinet/api/").content.decode()
    client.post(f"/cabinet/api/{alices.pk}/revoke/")
    alices.refresh_from_db()
    assert alices.revoked_at is not None
