"""A user's passkeys (WebAuthn credentials, django-otp devices) as a second factor: the options
a browser needs to add or use one, the checks of what the browser answers, and removal.

Each ceremony is two calls: the options (with a state the caller keeps in the session, used
once) and the check of the browser's answer against that state. Adding, removing and using a
passkey is written to the audit trail; adding one is also e-mailed to the account's address,
so a passkey added by someone else is noticed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_otp_webauthn.exceptions import OTPWebAuthnApiError
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.utils import rewrite_exceptions
from webauthn.helpers.exceptions import WebAuthnException

from obmin.audit.context import actor_of
from obmin.audit.models import AuditAction
from obmin.audit.services import audit_record
from obmin.lib.errors import Refused
from obmin.lib.mail import email_on_commit
from obmin.lib.site import public_hostname
from obmin.partners.models import Partner
from obmin.passkeys.webauthn import SiteWebAuthnHelper, passkeys_possible
from obmin.twofactor.policy import twofactor_required
from obmin.twofactor.services import (
    primary_devices,
    recovery_codes_left,
    recovery_codes_regenerate,
    twofactor_disable,
    twofactor_enabled,
)

logger = logging.getLogger("obmin.passkeys")

NAME_MAX = WebAuthnCredential._meta.get_field("name").max_length or 64


class PasskeyError(Refused):
    """A passkey ceremony or change refused, with the reason in words."""


class PasskeyAdded(NamedTuple):
    passkey: WebAuthnCredential
    # When the passkey is the account's first second factor: its new recovery codes, to be
    # shown once (as after setting up an app); else empty.
    recovery_codes: list[str]


def passkeys_of(user: AbstractBaseUser) -> QuerySet[WebAuthnCredential]:
    """The user's usable passkeys, the most recently used first."""
    return WebAuthnCredential.objects.filter(user_id=user.pk, confirmed=True).order_by(
        F("last_used_at").desc(nulls_last=True), "-pk"
    )


def has_passkey(user: AbstractBaseUser) -> bool:
    return passkeys_of(user).exists()


def _helper() -> SiteWebAuthnHelper:
    # The helper keeps the request only for its settings' callables, which Obmin's ignores.
    return SiteWebAuthnHelper(request=None)


def _require_possible() -> None:
    if not passkeys_possible():
        raise PasskeyError(
            _(
                "Passkeys work only when the site is opened at its domain name "
                "over HTTPS; ask the operator to set SITE_URL."
            )
        )


@contextmanager
def _checked(refusal: str) -> Iterator[None]:
    """Turns whatever py_webauthn or django-otp-webauthn refuses into a PasskeyError with
    `refusal` (their own messages are technical and English only); the cause is logged."""
    try:
        with rewrite_exceptions(logger=None):
            yield
    except (OTPWebAuthnApiError, WebAuthnException, ValueError, TypeError, KeyError) as error:
        logger.info("passkey ceremony refused: %s", error)
        raise PasskeyError(refusal) from error


def passkey_registration_options(
    *, user: AbstractBaseUser
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The options for `navigator.credentials.create` and the state to check its answer
    against (kept by the caller, used once)."""
    _require_possible()
    return _helper().register_begin(user=user)


def _default_name(user: AbstractBaseUser) -> str:
    count = WebAuthnCredential.objects.filter(user_id=user.pk).count()
    return _("Passkey %(number)d") % {"number": count + 1}


def passkey_add(
    *,
    user: AbstractBaseUser,
    state: dict[str, Any] | None,
    response: Any,
    name: str,
    manage_url: str,
) -> PasskeyAdded:
    """Checks the browser's answer to the registration options and saves the passkey under
    `name`; audited, and e-mailed to the user (with `manage_url`, where passkeys are removed).
    The account's first second factor turns two-factor sign-in on, with recovery codes."""
    _require_possible()
    if not state:
        raise PasskeyError(_("The passkey was not added: start again."))
    name = " ".join(str(name or "").split())[:NAME_MAX] or _default_name(user)
    refusal = _("The browser's answer could not be checked; the passkey was not added.")
    codes: list[str] = []
    try:
        with transaction.atomic():
            first = not twofactor_enabled(user)
            with _checked(refusal):
                device = _helper().register_complete(user=user, state=state, data=response)
            device.name = name
            device.save(update_fields=["name"])
            audit_record(
                action=AuditAction.PASSKEY_ADDED,
                obj=device,
                actor=actor_of(user),
                after={
                    "name": name,
                    "user": user.get_username(),
                    "relying_party": public_hostname(),
                },
            )
            if first:
                audit_record(
                    action=AuditAction.TWOFACTOR_ENABLED,
                    obj=user,
                    object_repr=user.get_username(),
                    actor=actor_of(user),
                    after={"method": "passkey"},
                )
                if not recovery_codes_left(user):
                    codes = recovery_codes_regenerate(user=user)
            _mail_added(user, device, manage_url)
    except IntegrityError as error:  # the same authenticator's credential twice
        raise PasskeyError(_("This passkey is added already.")) from error
    return PasskeyAdded(device, codes)


def _mail_added(user: AbstractBaseUser, device: WebAuthnCredential, manage_url: str) -> None:
    email = str(getattr(user, "email", "") or "")
    if not email:
        return
    language = (
        Partner.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    ) or settings.LANGUAGE_CODE
    with translation.override(language):
        text = render_to_string(
            "passkeys/email/passkey_added.txt",
            {
                "name": device.name,
                "manage_url": manage_url,
                "time": timezone.now().strftime("%Y-%m-%d %H:%M UTC"),
            },
        )
    subject, _blank, body = text.strip().partition("\n")
    email_on_commit(subject=subject.strip(), body=body.strip() + "\n", to=[email])


def passkey_authentication_options(
    *, user: AbstractBaseUser
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The options for `navigator.credentials.get` naming the user's passkeys, and the state
    to check the answer against."""
    _require_possible()
    if not has_passkey(user):
        raise PasskeyError(_("You have no passkey."))
    # The password (or the session) is the first factor; the passkey is the thing possessed.
    return _helper().authenticate_begin(user=user, require_user_verification=False)


def passkey_verify(
    *, user: AbstractBaseUser, state: dict[str, Any] | None, response: Any
) -> WebAuthnCredential:
    """Checks the browser's answer (signed by one of the user's passkeys over the state's
    challenge, for SITE_URL's origin); counts the use and audits it."""
    return _verified(user=user, state=state, response=response)


def passkey_sign_in_options() -> tuple[dict[str, Any], dict[str, Any]]:
    """The options for a sign-in by passkey alone: no user is named (the browser offers the
    passkeys it keeps for this site), and the user must be verified on the device (fingerprint,
    face, PIN), so the passkey is both factors at once."""
    _require_possible()
    return _helper().authenticate_begin(user=None, require_user_verification=True)


def passkey_sign_in(*, state: dict[str, Any] | None, response: Any) -> WebAuthnCredential:
    """The passkey that answered `passkey_sign_in_options` (verified as `passkey_verify` does,
    with the user verified on the device); its user, active, is the one to sign in."""
    if state is not None and not state.get("require_user_verification"):
        state = None  # a second step's state never signs anyone in
    return _verified(user=None, state=state, response=response)


def _verified(
    *, user: AbstractBaseUser | None, state: dict[str, Any] | None, response: Any
) -> WebAuthnCredential:
    _require_possible()
    if not state:
        raise PasskeyError(_("The passkey was not checked: start again."))
    refusal = _("That passkey was not accepted.")
    with transaction.atomic():
        with _checked(refusal):
            device = _helper().authenticate_complete(user=user, state=state, data=response)
        owner = device.user
        if not device.confirmed or not owner.is_active:
            raise PasskeyError(refusal)
        audit_record(
            action=AuditAction.PASSKEY_USED,
            obj=device,
            actor=actor_of(owner),
            after={
                "name": device.name,
                "sign_count": device.sign_count,
                "without_password": user is None,
            },
        )
    return device


def passkey_remove(*, user: AbstractBaseUser, passkey_id: int | str) -> WebAuthnCredential:
    """Removes one of the user's passkeys (another user's is "not found"); audited. The last
    second factor of the account (no app, no other passkey) goes only with two-factor sign-in
    itself (its recovery codes too; the user is e-mailed), and not while the operator's policy
    requires it."""
    try:
        pk = int(passkey_id)
    except (TypeError, ValueError):
        pk = 0
    with transaction.atomic():
        device = (
            WebAuthnCredential.objects.select_for_update().filter(pk=pk, user_id=user.pk).first()
        )
        if device is None:
            raise PasskeyError(_("No such passkey."))
        if _is_last(device) and twofactor_required(user):
            raise PasskeyError(
                _(
                    "The exchanger requires two-factor sign-in for your account: "
                    "add another passkey or an authenticator app before removing "
                    "this one."
                )
            )
        _remove(device, actor=actor_of(user), by_staff=False)
    return device


def passkey_remove_by_staff(*, passkey: WebAuthnCredential) -> None:
    """The operator removes a user's passkey (a lost device), audited under the operator's
    name (the request's actor). The account's last second factor goes with two-factor sign-in
    itself, as the operator's reset does (the user is e-mailed); the operator's policy then
    asks for a new one at the next sign-in."""
    with transaction.atomic():
        device = WebAuthnCredential.objects.select_for_update().filter(pk=passkey.pk).first()
        if device is not None:
            _remove(device, actor=None, by_staff=True)


def _is_last(device: WebAuthnCredential) -> bool:
    """Whether the passkey is its user's only second factor (no app, no other passkey)."""
    return not [
        other
        for other in primary_devices(device.user)
        if not (isinstance(other, WebAuthnCredential) and other.pk == device.pk)
    ]


def _remove(device: WebAuthnCredential, *, actor: str | None, by_staff: bool) -> None:
    # actor None: the current request's (audit_record's default).
    last = _is_last(device)
    owner = device.user
    audit_record(
        action=AuditAction.PASSKEY_REMOVED,
        obj=device,
        actor=actor,
        before={
            "name": device.name,
            "user": owner.get_username(),
            "created_at": device.created_at,
            "last_used_at": device.last_used_at,
        },
    )
    device.delete()
    if last:
        twofactor_disable(user=owner, by_staff=by_staff)
