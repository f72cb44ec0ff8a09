"""The operator sees partners' keys in the admin, can revoke them, and can create one for a
partner (its login and key shown on that one page)."""

from __future__ import annotations

import json

from obmin.partner_api.models import ApiKey
from obmin.partner_api.selectors import apikey_for_raw
from obmin.partner_api.services import apikey_create


def test_operator_lists_and_revokes_keys(client, carol, alice):
    key, raw = apikey_create(partner=alice, name="reports")
    client.force_login(carol)
    page = client.get("/admin/partner_api/apikey/")
    assert page.status_code == 200
    text = page.content.decode()
    assert key.key_start in text and raw not in text
    client.post("/admin/partner_api/apikey/", {"action": "revoke",
                                               "_selected_action": [key.pk]})
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert apikey_for_raw(raw) is None


def test_operator_creates_a_key_for_a_partner_shown_once(client, carol, alice):
    client.force_login(carol)
    assert client.get("/admin/partner_api/apikey/add/").status_code == 200
    response = client.post("/admin/partner_api/apikey/add/", {
        "partner": alice.pk, "name": "from the operator", "allowed_ips": '["10.0.0.0/8"]',
        "methods": ["test", "get_partner_info"]})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get(partner=alice)
    raw = response.context["raw"]
    text = response.content.decode()
    assert raw.startswith("obm_live_") and raw in text and key.login in text
    assert apikey_for_raw(raw) == key
    assert (key.name, key.allowed_ips, key.methods) == ("from the operator", ["10.0.0.0/8"],
                                                        ["test", "get_partner_info"])
    # Never shown again: not on the key's page, not in a message.
    assert raw not in client.get(f"/admin/partner_api/apikey/{key.pk}/change/").content.decode()
    assert raw not in client.get("/admin/partner_api/apikey/").content.decode()
    client.logout()
    answer = client.post("/api/userapi/v1/test", headers={"API-LOGIN": key.login,
                                                          "API-KEY": raw},
                         REMOTE_ADDR="10.1.2.3")
    assert json.loads(answer.content)["data"]["partner_id"] == str(alice.pk)


def test_a_bad_allowed_ip_is_a_form_error_in_the_admin(client, carol, alice):
    client.force_login(carol)
    response = client.post("/admin/partner_api/apikey/add/", {
        "partner": alice.pk, "allowed_ips": '["not-an-ip"]'})
    assert response.status_code == 200 and "not an IP address" in response.content.decode()
    assert not ApiKey.objects.exists()
