"""The cabinet's Postbacks page: add, edit, delete, test event, delivery log with resend, the
secret; bob never sees or touches alice's postbacks or deliveries."""

from __future__ import annotations

from html import escape

import pytest

from obmin.lib.netguard import hosts_override
from obmin.postbacks.models import DeliveryStatus, Postback, PostbackDelivery
from obmin.postbacks.services import postback_create, postback_secret, postback_send_test

pytestmark = pytest.mark.django_db

URL = "https://tracker.test/postback?subid={sub1}&payout={reward}"
BOB_URL = "https://bob-tracker.test/pb?c={sub1}"
URL_HTML = escape(URL)  # as a page shows it


@pytest.fixture(autouse=True)
def trackers():
    with hosts_override({"tracker.test": ["93.184.216.34"], "bob-tracker.test": ["93.184.216.34"],
                         "inside.test": ["10.0.0.7"]}):
        yield


def test_add_a_postback_and_see_the_secret(client, alice):
    client.force_login(alice.user)
    page = client.get("/cabinet/postbacks/")
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert postback_secret(partner=alice) in page.content.decode()
    response = client.post("/cabinet/postbacks/", {
        "url": URL, "method": "GET", "events": ["click", "reward.credited"]})
    assert response.status_code == 302
    postback = Postback.objects.get(partner=alice)
    assert (postback.url, postback.method, postback.events) == (
        URL, "GET", ["click", "reward.credited"])
    assert URL_HTML in client.get("/cabinet/postbacks/").content.decode()


def test_an_inner_address_is_refused_on_the_form(client, alice):
    client.force_login(alice.user)
    response = client.post("/cabinet/postbacks/", {
        "url": "http://inside.test/pb", "method": "POST", "events": ["exchange.success"]})
    assert response.status_code == 400
    assert "10.0.0.7 is a private address" in response.content.decode()
    assert not Postback.objects.exists()


def test_edit_test_event_and_resend(client, alice):
    client.force_login(alice.user)
    postback = postback_create(partner=alice, url=URL, events=["exchange.success"])
    response = client.post(f"/cabinet/postbacks/{postback.pk}/", {
        "url": URL + "&x=1", "method": "POST", "events": ["payout.paid"], "is_active": ""})
    assert response.status_code == 302
    postback.refresh_from_db()
    assert (postback.url, postback.method, postback.events, postback.is_active) == (
        URL + "&x=1", "POST", ["payout.paid"], False)

    client.post(f"/cabinet/postbacks/{postback.pk}/test/")
    delivery = PostbackDelivery.objects.get(partner=alice)
    assert delivery.is_test and delivery.event == "payout.paid"
    page = client.get("/cabinet/postbacks/").content.decode()
    assert f'id="delivery-{delivery.pk}"' in page and str(delivery.uid) in page

    PostbackDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    client.post(f"/cabinet/postbacks/deliveries/{delivery.pk}/resend/")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING

    client.post(f"/cabinet/postbacks/{postback.pk}/delete/")
    assert not Postback.objects.exists()


def test_the_form_goes_when_there_are_five(client, alice):
    client.force_login(alice.user)
    for _ in range(5):
        postback_create(partner=alice, url=URL, events=["click"])
    page = client.get("/cabinet/postbacks/").content.decode()
    assert 'id="postback-form"' not in page
    response = client.post("/cabinet/postbacks/", {"url": URL, "method": "GET",
                                                   "events": ["click"]})
    assert response.status_code == 400 and Postback.objects.count() == 5


def test_bob_never_sees_or_touches_alices(client, alice, bob):
    mine = postback_create(partner=alice, url=URL, events=["exchange.success"])
    delivery = postback_send_test(partner=alice, postback_id=mine.pk)
    PostbackDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    alice_secret = postback_secret(partner=alice)
    postback_create(partner=bob, url=BOB_URL, events=["click"])

    client.force_login(bob.user)
    page = client.get("/cabinet/postbacks/").content.decode()
    assert BOB_URL in page
    for secret_of_alice in (URL_HTML, "tracker.test/postback", alice_secret, str(delivery.uid),
                            f"delivery-{delivery.pk}", f"postback-{mine.pk}"):
        assert secret_of_alice not in page

    edit = client.get(f"/cabinet/postbacks/{mine.pk}/", follow=True)
    assert "tracker.test/postback" not in edit.content.decode()
    client.post(f"/cabinet/postbacks/{mine.pk}/", {"url": BOB_URL, "method": "POST",
                                                   "events": ["click"], "is_active": "on"})
    client.post(f"/cabinet/postbacks/{mine.pk}/test/")
    client.post(f"/cabinet/postbacks/{mine.pk}/delete/")
    client.post(f"/cabinet/postbacks/deliveries/{delivery.pk}/resend/")

    mine.refresh_from_db()
    assert (mine.url, mine.method, mine.events) == (URL, "GET", ["exchange.success"])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert PostbackDelivery.objects.filter(postback=mine).count() == 1
    assert not PostbackDelivery.objects.filter(partner=bob).exists()


def test_actions_need_post(client, alice):
    client.force_login(alice.user)
    postback = postback_create(partner=alice, url=URL, events=["click"])
    assert client.get(f"/cabinet/postbacks/{postback.pk}/delete/").status_code == 405
    assert Postback.objects.filter(pk=postback.pk).exists()
