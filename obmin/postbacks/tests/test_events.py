"""Which events queue which deliveries, from the real services: an exchange's creation and
success, the reward credited and reversed, a payout paid, a stored click. Deliveries are
queued when the causing transaction commits, never sent in it."""

from __future__ import annotations

import uuid
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import transaction
from django.utils import timezone

from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.partners import ingest
from obmin.partners.ingest import ClickData
from obmin.partners.models import Click
from obmin.postbacks.models import DEFAULT_EVENTS, DeliveryStatus, Event, PostbackDelivery
from obmin.postbacks.payloads import click_payload
from obmin.postbacks.services import postback_create
from obmin.rewards.models import PayoutMethod, RewardOverride
from obmin.rewards.services import payout_mark_paid
from obmin.testing.factories import payout_to

pytestmark = pytest.mark.django_db

TEMPLATE = ("https://tracker.test/pb?e={event}&id={exchange_id}&r={reward}&c={currency}"
            "&s={sub1}&st={status}&g={amount_give}&u={user_hash}&t={time}")


@pytest.fixture
def subscribed(alice, tracker_public):
    return postback_create(partner=alice, url=TEMPLATE, events=list(Event.values))


def queued(partner) -> list[PostbackDelivery]:
    return list(PostbackDelivery.objects.filter(partner=partner).order_by("id"))


def query(delivery: PostbackDelivery) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(delivery.url).query,
                                         keep_blank_values=True).items()}


def create(pm_btc, partner, **source):
    return exchange_create(direction=pm_btc, amount_give=Decimal(1000), email="c@example.org",
                           account_get="bc1q", partner_id=partner.pk, user_hash="h" * 32,
                           source=source)


def test_exchange_lifecycle_queues_its_events(alice, pm_btc, program, subscribed,
                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        exchange = create(pm_btc, alice, sub1="fb ads/1")
    (created,) = queued(alice)
    assert created.event == "exchange.created" and created.status == DeliveryStatus.PENDING
    assert query(created) == {"e": "exchange.created", "id": str(exchange.pk), "r": "0",
                              "c": "USD", "s": "fb ads/1", "st": "new", "g": "1000",
                              "u": "h" * 32, "t": str(int(exchange.created_at.timestamp()))}
    assert "s=fb%20ads%2F1" in created.url

    with django_capture_on_commit_callbacks(execute=True):
        exchange_set_status(exchange_id=exchange.pk, status="success")
    exchange.refresh_from_db()
    by_event = {d.event: d for d in queued(alice)}
    assert set(by_event) == {"exchange.created", "exchange.success", "reward.credited"}
    assert query(by_event["exchange.success"])["st"] == "success"
    credited = query(by_event["reward.credited"])
    assert Decimal(credited["r"]) == exchange.partner_reward > 0
    assert (credited["id"], credited["s"]) == (str(exchange.pk), "fb ads/1")

    with django_capture_on_commit_callbacks(execute=True):
        exchange_set_status(exchange_id=exchange.pk, status="error")
    reversed_ = [d for d in queued(alice) if d.event == "reward.reversed"]
    assert len(reversed_) == 1
    assert Decimal(query(reversed_[0])["r"]) == exchange.partner_reward  # amount taken back


def test_post_body_uses_the_api_field_names(alice, pm_btc, program, tracker_public,
                                            django_capture_on_commit_callbacks):
    import json

    postback_create(partner=alice, url="https://tracker.test/in", method="POST",
                    events=["exchange.created"])
    with django_capture_on_commit_callbacks(execute=True):
        exchange = create(pm_btc, alice, sub1="s1", sub5="s5")
    (delivery,) = queued(alice)
    body = json.loads(delivery.body, parse_float=Decimal)
    assert body["event"] == "exchange.created" and isinstance(body["time"], int)
    data = body["data"]
    assert data["id"] == exchange.pk and data["amount_give"] == Decimal(1000)
    assert data["currency_code_give"] == "PMUSD" and data["currency_code_get"] == "BTC"
    assert data["course_give"] == exchange.rate_give and data["exchange_success"] == 0
    assert (data["sub1"], data["sub2"], data["sub5"]) == ("s1", "", "s5")
    assert delivery.url == "https://tracker.test/in"


def test_nothing_is_queued_when_the_cause_rolls_back(alice, pm_btc, program, subscribed,
                                                      django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks(execute=True)
    with capture, pytest.raises(RuntimeError), transaction.atomic():
        create(pm_btc, alice)
        raise RuntimeError("rolled back")
    assert queued(alice) == []


def test_queued_in_the_transaction_of_its_cause(alice, pm_btc, program, subscribed):
    # Committed with the exchange or not at all: no moment where one exists without the other.
    with transaction.atomic():
        create(pm_btc, alice)
        assert [d.event for d in queued(alice)] == ["exchange.created"]


def test_payout_paid(alice, pm_btc, program, subscribed, django_capture_on_commit_callbacks):
    method = PayoutMethod.objects.create(title="USDT", commission_percent=Decimal(1),
                                         currency_code="USDT")
    RewardOverride.objects.create(partner=alice, direction=None, kind="fixed",
                                  value=Decimal(50))
    exchange = create(pm_btc, alice)
    exchange_set_status(exchange_id=exchange.pk, status="success")
    payout = payout_to(partner=alice, method_id=method.pk, account="TXabc")
    with django_capture_on_commit_callbacks(execute=True):
        payout_mark_paid(payout_id=payout.pk, actor="carol")
    paid = [d for d in queued(alice) if d.event == "payout.paid"]
    assert len(paid) == 1
    assert {k: query(paid[0])[k] for k in ("e", "r", "c", "st")} == {
        "e": "payout.paid", "r": "50", "c": "USD", "st": "paid"}


def click(partner, uid_sub: str = "") -> ClickData:
    return ClickData(uid=ingest.new_click_uid(), created_at=timezone.now(),
                     code=partner.ref_code, partner_id=partner.pk, user_hash="u" * 32,
                     is_bot=False, browser="Chrome", ip="203.0.113.0", referrer="",
                     query_string="sub1=" + uid_sub, user_agent="", seen_today=None,
                     sub1=uid_sub)


def test_click_event_only_when_chosen(alice, bob, tracker_public,
                                      django_capture_on_commit_callbacks):
    postback_create(partner=alice, url=TEMPLATE, events=["click"])
    postback_create(partner=bob, url=TEMPLATE, events=DEFAULT_EVENTS)
    assert "click" not in DEFAULT_EVENTS
    with django_capture_on_commit_callbacks(execute=True):
        ingest.clicks_write([click(alice, "kw 1"), click(bob, "b")])
    (delivery,) = queued(alice)
    assert delivery.event == "click" and query(delivery)["s"] == "kw 1"
    assert queued(bob) == []
    # Without a click stream the redirect INSERTs the click itself: queued just the same.
    with django_capture_on_commit_callbacks(execute=True):
        assert ingest.click_submit(click(alice, "kw 2")) == "database"
    assert [query(d)["s"] for d in queued(alice)] == ["kw 1", "kw 2"]


def test_click_id_is_the_same_whichever_writer_stored_it(alice):
    # The redirect's direct INSERT and the worker both hand over their ClickData; a Click row
    # read back must give the same id.
    data = click(alice, "x")
    assert ingest.clicks_write([data]) == 1
    row = Click.objects.get(uid=uuid.UUID(data.uid))
    assert click_payload(data).data["id"] == click_payload(row).data["id"] == str(row.uid)


def test_inactive_postback_gets_nothing(alice, pm_btc, program, subscribed,
                                        django_capture_on_commit_callbacks):
    subscribed.is_active = False
    subscribed.save()
    with django_capture_on_commit_callbacks(execute=True):
        create(pm_btc, alice)
    assert queued(alice) == []


@pytest.mark.django_db(transaction=True)
def test_a_directly_stored_click_and_its_postback_commit_together(alice, tracker_public,
                                                                   monkeypatch):
    """Without a click stream the redirect INSERTs the click itself; its postback is queued in
    the same transaction. A process that dies between the two (here: interrupted while
    queueing) leaves neither, so no stored click ever lacks the postback its partner chose."""
    from obmin.postbacks import services

    postback_create(partner=alice, url=TEMPLATE, events=["click"])

    def killed(payloads):
        raise KeyboardInterrupt  # not an Exception: nothing on the way catches it, as a kill

    monkeypatch.setattr(services, "postback_events_queue", killed)
    data = click(alice, "k1")
    with pytest.raises(KeyboardInterrupt):
        ingest.click_submit(data)
    assert not Click.objects.filter(uid=uuid.UUID(data.uid)).exists()
    monkeypatch.undo()
    assert ingest.click_submit(data) == "database"  # the visitor's next try
    assert Click.objects.filter(uid=uuid.UUID(data.uid)).count() == 1
    assert [query(d)["s"] for d in queued(alice)] == ["k1"]
