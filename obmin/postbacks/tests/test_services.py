"""Setting up postbacks (service and `obmin postback add`): what is accepted, what is refused
and why, and that a refusal changes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from obmin.lib.netguard import hosts_override
from obmin.postbacks.models import (
    DEFAULT_EVENTS,
    MAX_PER_PARTNER,
    DeliveryStatus,
    Postback,
    PostbackDelivery,
)
from obmin.postbacks.payloads import MACROS, render_url
from obmin.postbacks.services import (
    PostbackError,
    delivery_resend,
    postback_create,
    postback_delete,
    postback_secret,
    postback_secret_rotate,
    postback_send_test,
    postback_update,
)

URL = "https://tracker.test/postback?subid={sub1}&payout={reward}&status={status}"
pytestmark = pytest.mark.django_db


def test_create_with_defaults(alice, tracker_public):
    postback = postback_create(partner=alice, url=f"  {URL} ", events=DEFAULT_EVENTS)
    assert (postback.url, postback.method, postback.events) == (URL, "GET", DEFAULT_EVENTS)
    assert len(postback_secret(partner=alice)) == 64


@pytest.mark.parametrize(("url", "method", "events", "field"), [
    ("", "GET", ["exchange.success"], "url"),
    ("ftp://tracker.test/x", "GET", ["exchange.success"], "url"),
    ("http://127.0.0.1/x", "GET", ["exchange.success"], "url"),
    ("http://10.0.0.5/x", "GET", ["exchange.success"], "url"),
    ("http://[::ffff:127.0.0.1]/x", "GET", ["exchange.success"], "url"),
    ("http://inside.test/x", "GET", ["exchange.success"], "url"),
    ("https://tracker.test/" + "a" * 2000, "GET", ["exchange.success"], "url"),
    (URL, "PUT", ["exchange.success"], "method"),
    (URL, "GET", ["exchange.done"], "events"),
    (URL, "GET", [], "events"),
])
def test_refused_with_the_field_at_fault_and_nothing_saved(alice, url, method, events, field):
    names = hosts_override({"tracker.test": ["93.184.216.34"], "inside.test": ["127.0.0.1"]})
    with names, pytest.raises(PostbackError) as refusal:
        postback_create(partner=alice, url=url, method=method, events=events)
    assert refusal.value.field == field and refusal.value.message
    assert not Postback.objects.exists()


def test_at_most_five(alice, bob, tracker_public):
    for _ in range(MAX_PER_PARTNER):
        postback_create(partner=alice, url=URL, events=DEFAULT_EVENTS)
    with pytest.raises(PostbackError, match="At most 5"):
        postback_create(partner=alice, url=URL, events=DEFAULT_EVENTS)
    postback_create(partner=bob, url=URL, events=DEFAULT_EVENTS)  # bob's own five
    assert Postback.objects.filter(partner=alice).count() == MAX_PER_PARTNER


def test_partner_changes_only_its_own(alice, bob, tracker_public):
    mine = postback_create(partner=alice, url=URL, events=DEFAULT_EVENTS)
    for change in (
        lambda: postback_update(partner=bob, postback_id=mine.pk, url=URL, method="POST",
                                events=["click"]),
        lambda: postback_delete(partner=bob, postback_id=mine.pk),
        lambda: postback_send_test(partner=bob, postback_id=mine.pk),
    ):
        with pytest.raises(PostbackError):
            change()
    test = postback_send_test(partner=alice, postback_id=mine.pk)
    with pytest.raises(PostbackError):
        delivery_resend(partner=bob, delivery_id=test.pk)
    mine.refresh_from_db()
    assert (mine.method, mine.events) == ("GET", DEFAULT_EVENTS)


def test_send_test_and_resend_keep_the_delivery_id(alice, tracker_public):
    postback = postback_create(partner=alice, url=URL, events=["reward.credited"])
    delivery = postback_send_test(partner=alice, postback_id=postback.pk)
    assert delivery.is_test and delivery.event == "reward.credited"
    assert "subid=test&payout=1.25&status=success" in delivery.url
    PostbackDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    again = delivery_resend(partner=alice, delivery_id=delivery.pk)
    assert (again.uid, again.status) == (delivery.uid, DeliveryStatus.PENDING)


def test_rotating_the_secret(alice):
    old = postback_secret(partner=alice)
    new = postback_secret_rotate(partner=alice)
    assert new != old and postback_secret(partner=alice) == new


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(MACROS), st.text(max_size=20)))
def test_macros_are_url_encoded_and_nothing_else_changes(values):
    from urllib.parse import unquote

    template = "https://t.test/p?" + "&".join(f"{name}={{{name}}}" for name in MACROS)
    macros = dict.fromkeys(MACROS, "") | values
    url = render_url(template + "&x={other}", macros)
    query = url.split("?", 1)[1]
    pairs = query.split("&")
    assert pairs[-1] == "x={other}"
    for pair, name in zip(pairs, MACROS, strict=False):
        key, _, encoded = pair.partition("=")
        assert key == name
        assert not set(encoded) & set("&=?#/ {}")
        assert unquote(encoded) == macros[name]


def test_command_prints_the_secret_last(alice, capsys, tracker_public):
    call_command("postback", "add", "ALICE@example.com", URL, "--events",
                 "click,exchange.success", "--method", "post")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == postback_secret(partner=alice)
    postback = Postback.objects.get(partner=alice)
    assert (postback.method, postback.events) == ("POST", ["click", "exchange.success"])


@pytest.mark.parametrize("args", [
    ["nobody@example.com", URL],
    ["alice@example.com", "http://127.0.0.1/x"],
    ["alice@example.com", URL, "--events", "exchange.done"],
    ["alice@example.com", URL, "--method", "PUT"],
])
def test_command_refuses_bad_input(alice, tracker_public, args):
    with pytest.raises(CommandError):
        call_command("postback", "add", *args)
    assert not Postback.objects.exists()


def test_command_bad_usage_exits_non_zero_with_one_line(tmp_path):
    obmin = Path(sys.executable).with_name("obmin")
    result = subprocess.run([str(obmin), "postback", "add", "alice@example.com"],
                            capture_output=True, text=True, check=False,
                            env={"OBMIN_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and "url" in result.stderr
