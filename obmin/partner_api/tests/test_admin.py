"""The operator sees partners' keys in the admin and can revoke them; never adds one there."""

from __future__ import annotations

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
    assert client.get("/admin/partner_api/apikey/add/").status_code == 403
    client.post("/admin/partner_api/apikey/", {"action": "revoke",
                                               "_selected_action": [key.pk]})
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert apikey_for_raw(raw) is None
