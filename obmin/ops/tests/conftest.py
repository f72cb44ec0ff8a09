"""The cross-app security tests' world: alice's and bob's rows in every kind the product keeps,
alice's marked with strings that must never reach bob, and their API keys.

Every string alice's rows hold contains ALICE_MARK (lower case, as e-mails are stored), or is
alice's referral code, e-mail or raw API key: `alice_markers(world)` lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone

from obmin.exchange.models import Exchange
from obmin.exchange.services import exchange_create, exchange_set_status
from obmin.partner_api.models import ApiKey
from obmin.partner_api.services import apikey_create
from obmin.partners.models import Click, Partner
from obmin.rewards.models import LedgerEntry, Payout, PayoutMethod, RewardLevel
from obmin.rewards.selectors import partner_balance
from obmin.testing.factories import payout_to, usable_wallet

ALICE_MARK = "alicemark"
BOB_MARK = "bobmark"


def _source(mark: str, kind: str) -> dict[str, str]:
    """sub1..sub5 and UTM tags, each naming its field."""
    values = {f"sub{n}": f"{mark}-{kind}-sub{n}" for n in range(1, 6)}
    values.update({tag: f"{mark}-{kind}-{tag}"
                   for tag in ("utm_source", "utm_medium", "utm_campaign")})
    return values


def make_click(partner: Partner, mark: str, **fields: str) -> Click:
    values: dict[str, object] = {
        "browser": "Chrome 124", "ip": "203.0.113.0",
        "referrer": f"https://{mark}-referrer.example/page", "user_hash": f"{mark}hash0001",
        "query_string": f"cur_from=PMUSD&q={mark}-query", "user_agent": f"{mark}-agent/1.0",
        **_source(mark, "click"),
    }
    values.update(fields)
    return Click.objects.create(partner=partner, **values)


def make_exchange(direction, partner: Partner, mark: str, amount: str = "5000",
                  status: str | None = None) -> Exchange:
    exchange = exchange_create(direction=direction, amount_give=Decimal(amount),
                               email=f"{mark}-customer@example.org",
                               account_get="bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
                               user_hash=f"{mark}hash0001", partner_id=partner.pk)
    # The account as a stranger may have typed it: stored as given (the checks are elsewhere).
    Exchange.objects.filter(pk=exchange.pk).update(account_get=f"{mark}-account",
                                                   **_source(mark, "exchange"))
    if status:
        exchange_set_status(exchange_id=exchange.pk, status=status)
    exchange.refresh_from_db()
    return exchange


@dataclass
class World:
    alice: Partner
    bob: Partner
    carol: object
    method: PayoutMethod
    alice_click: Click
    alice_exchange: Exchange
    alice_new_exchange: Exchange
    alice_payout: Payout
    alice_key: ApiKey
    alice_raw_key: str
    alice_test_raw_key: str
    bob_click: Click
    bob_exchange: Exchange
    bob_key: ApiKey
    bob_raw_key: str
    extra: dict[str, object] = field(default_factory=dict)


@pytest.fixture
def world(alice, bob, carol, pm_btc, program) -> World:
    """alice: a click, a successful and a new exchange, a requested payout (20 USD of her
    reward), two API keys; bob: a click and a successful exchange of his own, a key."""
    RewardLevel.objects.exclude(min_turnover=Decimal(0)).delete()
    method = PayoutMethod.objects.create(title="USDT TRC20", commission_percent=Decimal(1),
                                         currency_code="USDT")
    alice_click = make_click(alice, ALICE_MARK)
    alice_exchange = make_exchange(pm_btc, alice, ALICE_MARK, status="success")
    alice_new = make_exchange(pm_btc, alice, ALICE_MARK, amount="100")
    # Her whole 20 USD reward asked for: a requested payout bob must not be able to cancel.
    payout = payout_to(partner=alice, method_id=method.pk, account=f"{ALICE_MARK}-payout")
    usable_wallet(bob, method.pk, "TQbobwallet")  # the API table's add_payout as bob
    alice_key, alice_raw = apikey_create(partner=alice, name=f"{ALICE_MARK}-key",
                                         allowed_ips=[])
    _test_key, alice_test_raw = apikey_create(partner=alice, name=f"{ALICE_MARK}-test-key",
                                              test=True)
    bob_click = make_click(bob, BOB_MARK)
    bob_exchange = make_exchange(pm_btc, bob, BOB_MARK, amount="3000", status="success")
    bob_key, bob_raw = apikey_create(partner=bob, name=f"{BOB_MARK}-key")
    extra: dict[str, object] = {}
    if apps.is_installed("obmin.postbacks"):
        postback = apps.get_model("postbacks", "Postback").objects.create(
            partner=alice, url=f"https://{ALICE_MARK}-postback.example/cb?sub={{sub1}}",
            events=["click", "exchange.success"])
        extra["postback"] = postback
        extra["delivery"] = apps.get_model("postbacks", "PostbackDelivery").objects.create(
            partner=alice, postback=postback, event="click", method="GET",
            url=f"https://{ALICE_MARK}-postback.example/cb?sub=1", status="failed",
            give_up_at=timezone.now())
        apps.get_model("postbacks", "PostbackSecret").objects.create(partner=alice)
    return World(alice=alice, bob=bob, carol=carol, method=method, alice_click=alice_click,
                 alice_exchange=alice_exchange, alice_new_exchange=alice_new,
                 alice_payout=payout, alice_key=alice_key, alice_raw_key=alice_raw,
                 alice_test_raw_key=alice_test_raw, bob_click=bob_click,
                 bob_exchange=bob_exchange, bob_key=bob_key, bob_raw_key=bob_raw,
                 extra=extra)


def alice_markers(world: World) -> list[str]:
    """Strings (lower case) that only alice's rows hold: none may appear in bob's answers."""
    markers = [ALICE_MARK, world.alice.ref_code.lower(), world.alice.email.lower(),
               world.alice_raw_key.lower(), world.alice_test_raw_key.lower(),
               world.alice_key.key_start.lower(), world.alice_key.login.lower()]
    if apps.is_installed("obmin.postbacks"):
        markers.append(apps.get_model("postbacks", "PostbackSecret").objects.get(
            partner=world.alice).secret.lower())
    return markers


def alice_fingerprint(world: World) -> list[object]:
    """alice's rows as values: equal before and after a request that must change nothing."""
    alice = world.alice
    return [
        list(Partner.objects.filter(pk=alice.pk).values()),
        list(type(alice.user).objects.filter(pk=alice.user_id).values()),
        list(Click.objects.filter(partner=alice).order_by("pk").values()),
        list(Exchange.objects.filter(partner=alice).order_by("pk").values()),
        list(Payout.objects.filter(partner=alice).order_by("pk").values()),
        list(ApiKey.objects.filter(partner=alice).order_by("pk")
             .values("pk", "name", "key_hash", "is_test", "allowed_ips", "revoked_at")),
        list(LedgerEntry.objects.filter(partner=alice).order_by("pk").values()),
        partner_balance(alice),
        *([list(apps.get_model("postbacks", model).objects.filter(partner=alice)
                .order_by("pk").values()) for model in ("Postback", "PostbackDelivery",
                                                         "PostbackSecret")]
          if apps.is_installed("obmin.postbacks") else []),
    ]


@pytest.fixture
def clients(world) -> dict[str, Client]:
    """A logged-in browser per persona, and one logged out."""
    result = {"anonymous": Client()}
    for name, user in (("alice", world.alice.user), ("bob", world.bob.user),
                       ("carol", world.carol)):
        client = Client()
        client.force_login(user)
        result[name] = client
    return result
