"""Passkeys as a second factor, server side: the relying party is SITE_URL; what a software
authenticator answers is checked for real (challenge, origin, relying party, signature, owner);
adding, using and removing are audited, adding is e-mailed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_otp_webauthn.models import WebAuthnCredential

from obmin.audit.models import AuditAction, AuditEntry
from obmin.passkeys.services import (
    PasskeyError,
    passkey_add,
    passkey_authentication_options,
    passkey_registration_options,
    passkey_remove,
    passkey_sign_in,
    passkey_sign_in_options,
    passkey_verify,
    passkeys_of,
)
from obmin.passkeys.webauthn import passkeys_possible
from obmin.rewards.models import PartnerAccount
from obmin.testing.authenticator import SoftAuthenticator
from obmin.twofactor.models import TwoFactorPolicy
from obmin.twofactor.services import (
    has_confirmed_device,
    recovery_codes_left,
    twofactor_enabled,
)

pytestmark = pytest.mark.django_db
SITE = "https://obmin.example"
MANAGE = SITE + "/cabinet/account/"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


def add(user, key: SoftAuthenticator, name: str = "Laptop") -> WebAuthnCredential:
    options, state = passkey_registration_options(user=user)
    return passkey_add(
        user=user, state=state, response=key.create(options), name=name, manage_url=MANAGE
    ).passkey


def use(user, key: SoftAuthenticator, **answer) -> WebAuthnCredential:
    options, state = passkey_authentication_options(user=user)
    return passkey_verify(user=user, state=state, response=key.get(options, **answer))


@pytest.mark.parametrize(
    ("site", "possible"),
    [
        ("https://obmin.example", True),
        ("http://localhost:8000", True),
        ("http://obmin.localhost:8000", True),
        ("http://127.0.0.1:8000", False),
        ("https://203.0.113.7", False),
        ("http://obmin.example", False),
        ("https://[::1]:8443", False),
    ],
)
def test_passkeys_need_a_domain_name_in_a_secure_context(settings, site, possible):
    settings.SITE_URL = site
    assert passkeys_possible() is possible


def test_registration_options_name_site_url_as_the_relying_party(alice, settings):
    settings.OTP_WEBAUTHN_RP_NAME = "Swap Shop"
    options, state = passkey_registration_options(user=alice.user)
    assert options["rp"] == {"id": "obmin.example", "name": "Swap Shop"}
    assert options["user"]["name"] == alice.user.get_username()
    assert options["excludeCredentials"] == []
    assert state["challenge"] == options["challenge"] and len(options["challenge"]) >= 43
    settings.SITE_URL = "https://partners.swap.example:8443"
    assert passkey_registration_options(user=alice.user)[0]["rp"]["id"] == "partners.swap.example"


def test_no_ceremony_where_browsers_refuse_webauthn(alice, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    with pytest.raises(PasskeyError, match="domain name over HTTPS"):
        passkey_registration_options(user=alice.user)


def test_a_partner_adds_a_passkey_named_audited_and_mailed(
    alice, mailoutbox, django_capture_on_commit_callbacks
):
    alice.language = "uk"
    alice.save()
    key = SoftAuthenticator(origin=SITE)
    with django_capture_on_commit_callbacks(execute=True):
        device = add(alice.user, key, name="  My   phone ")
    assert device.name == "My phone" and device.user_id == alice.user.pk
    assert list(passkeys_of(alice.user)) == [device]
    entry = AuditEntry.objects.get(action=AuditAction.PASSKEY_ADDED)
    assert entry.actor == f"partner:{alice.user.get_username()}"
    assert entry.after["name"] == "My phone" and entry.after["relying_party"] == "obmin.example"
    [mail] = mailoutbox
    assert mail.to == ["alice@example.com"] and "My phone" in mail.body and MANAGE in mail.body
    assert mail.subject == "До вашого облікового запису Obmin додано ключ доступу"  # her language
    # The same authenticator is excluded next time, and refused if it answers anyway.
    options, state = passkey_registration_options(user=alice.user)
    assert [c["id"] for c in options["excludeCredentials"]] == [key.create(options)["id"]]
    with pytest.raises(PasskeyError, match="added already"):
        passkey_add(
            user=alice.user,
            state=state,
            response=key.create(options),
            name="again",
            manage_url=MANAGE,
        )
    assert WebAuthnCredential.objects.count() == 1


def test_an_unnamed_passkey_gets_a_number(alice):
    assert add(alice.user, SoftAuthenticator(origin=SITE), name="").name == "Passkey 1"
    assert add(alice.user, SoftAuthenticator(origin=SITE), name=" ").name == "Passkey 2"


@pytest.mark.parametrize("tamper", ["origin", "rp_id", "challenge", "no_state"])
def test_a_registration_answer_for_another_site_or_ceremony_adds_nothing(alice, tamper):
    key = SoftAuthenticator(origin=SITE)
    options, state = passkey_registration_options(user=alice.user)
    if tamper == "origin":
        response = key.create(options, origin="https://obmin.example.evil.test")
    elif tamper == "rp_id":
        response = key.create(options, rp_id="evil.test")
    elif tamper == "challenge":
        other, _state = passkey_registration_options(user=alice.user)
        response = key.create(other)
    else:
        response, state = key.create(options), None
    with pytest.raises(PasskeyError):
        passkey_add(user=alice.user, state=state, response=response, name="x", manage_url=MANAGE)
    assert not WebAuthnCredential.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditAction.PASSKEY_ADDED).exists()


def test_garbage_from_the_browser_is_a_refusal_not_an_error(alice):
    options, state = passkey_registration_options(user=alice.user)
    for garbage in ({}, {"id": "x"}, "not json", None, {"response": {"clientDataJSON": "!!"}}):
        with pytest.raises(PasskeyError):
            passkey_add(user=alice.user, state=state, response=garbage, name="x", manage_url=MANAGE)
    options, state = passkey_authentication_options(
        user=add(alice.user, SoftAuthenticator(origin=SITE)).user
    )
    for garbage in ({}, {"id": "x", "rawId": "x"}, "[]"):
        with pytest.raises(PasskeyError):
            passkey_verify(user=alice.user, state=state, response=garbage)


def test_the_second_step_checks_the_users_own_passkey(alice, bob):
    key = SoftAuthenticator(origin=SITE)
    device = add(alice.user, key)
    options, _state = passkey_authentication_options(user=alice.user)
    assert options["rpId"] == "obmin.example"
    assert [c["id"] for c in options["allowCredentials"]] == [
        key.create(options | {"rp": {"id": "obmin.example"}, "user": {"id": ""}})["id"]
    ]
    used = use(alice.user, key)
    assert used.pk == device.pk
    used.refresh_from_db()
    assert used.sign_count == 1 and used.last_used_at is not None
    entry = AuditEntry.objects.get(action=AuditAction.PASSKEY_USED)
    assert entry.object_id == str(device.pk) and entry.after["sign_count"] == 1
    # Bob, with no passkey, is asked for none; alice's passkey never passes for bob.
    with pytest.raises(PasskeyError, match="no passkey"):
        passkey_authentication_options(user=bob.user)
    add(bob.user, SoftAuthenticator(origin=SITE))
    options, state = passkey_authentication_options(user=bob.user)
    with pytest.raises(PasskeyError, match="not accepted"):
        passkey_verify(user=bob.user, state=state, response=key.get(options))


def test_a_signature_for_another_origin_or_challenge_or_key_is_refused(alice):
    key = SoftAuthenticator(origin=SITE)
    add(alice.user, key)
    options, state = passkey_authentication_options(user=alice.user)
    with pytest.raises(PasskeyError):
        passkey_verify(
            user=alice.user, state=state, response=key.get(options, origin="https://phish.example")
        )
    other, _state = passkey_authentication_options(user=alice.user)
    with pytest.raises(PasskeyError):
        passkey_verify(user=alice.user, state=state, response=key.get(other))
    forged = SoftAuthenticator(origin=SITE, credential_id=key.credential_id)  # another key
    with pytest.raises(PasskeyError):
        passkey_verify(user=alice.user, state=state, response=forged.get(options))
    assert not AuditEntry.objects.filter(action=AuditAction.PASSKEY_USED).exists()
    assert use(alice.user, key)  # the real one still passes


def test_a_second_steps_challenge_never_signs_anyone_in(alice):
    key = SoftAuthenticator(origin=SITE)
    add(alice.user, key)
    options, state = passkey_authentication_options(user=alice.user)  # no verification asked
    with pytest.raises(PasskeyError):
        passkey_sign_in(state=state, response=key.get(options))
    options, state = passkey_sign_in_options()
    assert options["userVerification"] == "required" and options["allowCredentials"] == []
    assert passkey_sign_in(state=state, response=key.get(options)).user == alice.user


def test_a_cloned_authenticator_with_an_old_counter_is_refused(alice):
    key = SoftAuthenticator(origin=SITE)
    add(alice.user, key)
    use(alice.user, key)
    use(alice.user, key)
    key.sign_count = 0  # the next use signs counter 1 again, below the stored 2
    with pytest.raises(PasskeyError):
        use(alice.user, key)


def test_removing_a_passkey_is_audited_and_only_ones_own(alice, bob):
    device = add(alice.user, SoftAuthenticator(origin=SITE), name="Old key")
    with pytest.raises(PasskeyError, match="No such passkey"):
        passkey_remove(user=bob.user, passkey_id=device.pk)
    with pytest.raises(PasskeyError, match="No such passkey"):
        passkey_remove(user=alice.user, passkey_id="nonsense")
    passkey_remove(user=alice.user, passkey_id=device.pk)
    assert not WebAuthnCredential.objects.exists()
    entry = AuditEntry.objects.get(action=AuditAction.PASSKEY_REMOVED)
    assert entry.before["name"] == "Old key" and entry.object_id == str(device.pk)
    with pytest.raises(PasskeyError, match="no passkey"):
        passkey_authentication_options(user=alice.user)


def test_the_first_passkey_turns_two_factor_on_and_the_last_one_off(
    alice, mailoutbox, django_capture_on_commit_callbacks
):
    first = add(alice.user, SoftAuthenticator(origin=SITE), name="One")
    assert twofactor_enabled(alice.user) and recovery_codes_left(alice.user) == 10
    second = add(alice.user, SoftAuthenticator(origin=SITE), name="Two")
    passkey_remove(user=alice.user, passkey_id=first.pk)
    assert twofactor_enabled(alice.user) and recovery_codes_left(alice.user) == 10
    with django_capture_on_commit_callbacks(execute=True):
        passkey_remove(user=alice.user, passkey_id=second.pk)
    # The last second factor went: two-factor is off, no recovery code is left to ask for.
    assert not twofactor_enabled(alice.user) and not has_confirmed_device(alice.user)
    assert AuditEntry.objects.filter(action=AuditAction.TWOFACTOR_DISABLED).count() == 1
    assert [m.subject for m in mailoutbox] == ["Two-factor sign-in is turned off"]


def test_the_policy_keeps_the_last_passkey(alice):
    policy = TwoFactorPolicy.load()
    policy.partner_balance_above = Decimal(0)
    policy.save()
    PartnerAccount.objects.update_or_create(partner=alice, defaults={"balance": Decimal(5)})
    only = add(alice.user, SoftAuthenticator(origin=SITE))
    with pytest.raises(PasskeyError, match="requires two-factor"):
        passkey_remove(user=alice.user, passkey_id=only.pk)
    assert WebAuthnCredential.objects.filter(pk=only.pk).exists()
    add(alice.user, SoftAuthenticator(origin=SITE))
    passkey_remove(user=alice.user, passkey_id=only.pk)
    assert twofactor_enabled(alice.user)
