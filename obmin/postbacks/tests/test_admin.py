"""The operator (carol) reads postbacks and deliveries in the admin and resends deliveries."""

from __future__ import annotations

import pytest

from obmin.postbacks.models import DeliveryStatus, PostbackAttempt, PostbackDelivery
from obmin.postbacks.services import postback_create, postback_send_test

pytestmark = pytest.mark.django_db


def test_operator_reads_and_resends(client, carol, alice, tracker_public):
    postback = postback_create(partner=alice, url="https://tracker.test/p?s={sub1}",
                               events=["click"])
    delivery = postback_send_test(partner=alice, postback_id=postback.pk)
    PostbackAttempt.objects.create(delivery=delivery, status_code=502, answer="bad gateway")
    PostbackDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    client.force_login(carol)
    for path in ("/admin/postbacks/postback/", f"/admin/postbacks/postback/{postback.pk}/change/",
                 "/admin/postbacks/postbackdelivery/",
                 f"/admin/postbacks/postbackdelivery/{delivery.pk}/change/"):
        response = client.get(path)
        assert response.status_code == 200, path
    assert "bad gateway" in response.content.decode()
    assert client.get("/admin/postbacks/postback/add/").status_code == 403
    client.post("/admin/postbacks/postbackdelivery/", {
        "action": "resend", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
