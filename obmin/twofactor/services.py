"""Two-factor sign-in: setting up an authenticator app (TOTP) with its recovery codes, checking
a second factor, and the session's record of having passed it.

Every way to pass the second step (a TOTP code, a recovery code, a passkey) ends in
`second_factor_passed(request, device)`: the one place a session becomes verified and fresh.
The devices are django-otp's; a user "has two-factor" when it has a confirmed device other than
its recovery codes.
"""

from __future__ import annotations

import time
from base64 import b32encode
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from obmin.audit.models import AuditAction
from obmin.audit.services import audit_record
from obmin.lib.errors import Refused
from obmin.lib.mail import email_on_commit
from obmin.partners.models import Partner

RECOVERY_CODES = 10
RECOVERY_DEVICE_NAME = "recovery codes"
TOTP_DEVICE_NAME = "authenticator app"
# Session keys: unix seconds of the last second factor passed; an action's form waiting for
# the re-check (see decorators.py).
SESSION_VERIFIED_AT = "twofactor_verified_at"
SESSION_PENDING_POST = "twofactor_pending_post"


class TwoFactorError(Refused):
    """A second factor refused (wrong, spent, throttled) or a set-up step out of order."""


# --- reads ----------------------------------------------------------------------------------


def primary_devices(user: Any) -> list[Device]:
    """The user's confirmed second factors other than its recovery codes (an app, a passkey)."""
    return [
        device
        for device in devices_for_user(user, confirmed=True)
        if not isinstance(device, StaticDevice)
    ]


def twofactor_enabled(user: Any) -> bool:
    return bool(primary_devices(user))


def has_confirmed_device(user: Any) -> bool:
    """Any confirmed device, recovery codes included: such a user owes a second step."""
    return next(iter(devices_for_user(user, confirmed=True)), None) is not None


def recovery_codes_left(user: Any) -> int:
    return StaticToken.objects.filter(device__user_id=user.pk, device__confirmed=True).count()


def totp_device_pending(*, user: Any, device_id: int) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(pk=device_id, user_id=user.pk, confirmed=False).first()


def totp_secret(device: TOTPDevice) -> str:
    """The key as an authenticator app's manual entry wants it: base32 in groups of four."""
    text = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


# --- the session ----------------------------------------------------------------------------


def second_factor_passed(request: HttpRequest, device: Device) -> None:
    """The session passed its second factor with `device` (any kind): verified from now on
    (django-otp's `user.is_verified()`), and fresh for TWOFACTOR_FRESH_MINUTES. A new session
    key, as at the password step, so a key seen before this moment verifies nothing."""
    otp_login(request, device)
    request.session.cycle_key()
    request.session[SESSION_VERIFIED_AT] = int(time.time())


def second_factor_fresh(request: HttpRequest) -> bool:
    """The session passed a second factor within the last TWOFACTOR_FRESH_MINUTES."""
    user: Any = request.user
    if not user.is_authenticated or not user.is_verified():
        return False
    at = request.session.get(SESSION_VERIFIED_AT)
    return isinstance(at, int) and time.time() - at <= settings.TWOFACTOR_FRESH_MINUTES * 60


# --- setting up -----------------------------------------------------------------------------


def totp_begin(*, user: Any) -> TOTPDevice:
    """A new, unconfirmed authenticator key for the user (earlier unconfirmed ones go); it
    counts only once `totp_confirm` has seen a code from it."""
    if TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists():
        raise TwoFactorError(
            _(
                "An authenticator app is set up already; turn two-factor "
                "sign-in off first to set up another."
            )
        )
    TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


def totp_confirm(*, request: HttpRequest, device_id: int, code: str) -> list[str]:
    """Confirms the pending app with a code from it: two-factor is on from now, the session is
    verified, and the new recovery codes are returned (to be shown once)."""
    user: Any = request.user
    device = totp_device_pending(user=user, device_id=device_id)
    if device is None:
        raise TwoFactorError(_("This set-up has expired; start again."))
    if not device.verify_token(_normalize(code)):
        raise TwoFactorError(
            _(
                "That code is not right. Check the time on your phone and "
                "enter the code the app shows now."
            ),
            "code",
        )
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _recovery_codes_new(user)
        audit_record(
            action=AuditAction.TWOFACTOR_ENABLED,
            obj=user,
            object_repr=user.get_username(),
            after={"method": "totp"},
        )
    second_factor_passed(request, device)
    return codes


def _recovery_codes_new(user: Any) -> list[str]:
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _i in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def recovery_codes_regenerate(*, user: Any) -> list[str]:
    """New recovery codes; every earlier one stops working."""
    if not twofactor_enabled(user):
        raise TwoFactorError(_("Two-factor sign-in is off."))
    with transaction.atomic():
        codes = _recovery_codes_new(user)
        audit_record(
            action=AuditAction.RECOVERY_CODES_NEW, obj=user, object_repr=user.get_username()
        )
    return codes


def twofactor_disable(*, user: Any, by_staff: bool = False) -> int:
    """Removes every second factor of the user (apps, passkeys, recovery codes); the user is
    e-mailed. `by_staff`: an operator's reset (the user lost its phone). Returns how many
    devices went."""
    with transaction.atomic():
        devices = list(devices_for_user(user, confirmed=None))
        if not devices:
            return 0
        kinds = sorted({type(device).__name__ for device in devices})
        for device in devices:
            device.delete()
        audit_record(
            action=(AuditAction.TWOFACTOR_RESET if by_staff else AuditAction.TWOFACTOR_DISABLED),
            obj=user,
            object_repr=user.get_username(),
            before={"devices": kinds},
            after={"devices": []},
        )

        def compose() -> tuple[str, str]:
            return (
                _("Two-factor sign-in is turned off"),
                (
                    _("An operator has reset two-factor sign-in of your account.")
                    if by_staff
                    else _("Two-factor sign-in of your account was turned off.")
                )
                + "\n"
                + _(
                    "If you did not ask for this, change your password and write to "
                    "the exchanger at once."
                ),
            )

        _notify(user, compose)
    return len(devices)


# --- the second factor ----------------------------------------------------------------------


def _normalize(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()[:32]


def second_factor_check(*, request: HttpRequest, code: str) -> Device:
    """The device of the signed-in user that accepts `code` (an app's six digits, or a
    recovery code, which is spent), else TwoFactorError. Wrong codes are throttled per device
    by django-otp, written to the audit trail and counted by django-axes like wrong passwords
    (enough of them lock the account's sign-in from this address)."""
    user: Any = request.user
    code = _normalize(code)
    by_app = code.isdigit() and len(code) == 6
    model: type[Device] = TOTPDevice if by_app else StaticDevice
    wait_until: datetime | None = None
    passed: Device | None = None
    with transaction.atomic():
        for device in model.objects.filter(user_id=user.pk, confirmed=True).select_for_update():
            allowed, info = device.verify_is_allowed()
            if not allowed:
                wait_until = (info or {}).get("locked_until")
                continue
            if device.verify_token(code):
                passed = device
                break
    if passed is not None:
        if isinstance(passed, StaticDevice):
            _recovery_code_used(user, passed)
        return passed
    audit_record(
        action=AuditAction.TWOFACTOR_FAILED,
        obj=user,
        object_repr=user.get_username(),
        after={"kind": "app" if by_app else "recovery"},
    )
    user_login_failed.send(
        sender=__name__, credentials={"username": user.get_username()}, request=request
    )
    if wait_until is not None:
        seconds = max(1, int((wait_until - timezone.now()).total_seconds()) + 1)
        raise TwoFactorError(
            _("Too many wrong codes; wait %(seconds)s seconds and try again.")
            % {"seconds": seconds},
            "code",
        )
    raise TwoFactorError(_("That code is not right, or it was used already."), "code")


def _recovery_code_used(user: Any, device: StaticDevice) -> None:
    left = device.token_set.count()
    audit_record(
        action=AuditAction.RECOVERY_CODE_USED,
        obj=user,
        object_repr=user.get_username(),
        after={"left": left},
    )

    def compose() -> tuple[str, str]:
        return (
            _("A recovery code was used to sign in"),
            _(
                "Someone signed in to your account with one of your recovery codes; "
                "%(left)s codes are left."
            )
            % {"left": left}
            + "\n"
            + _(
                "If it was not you, change your password, make new recovery codes and "
                "write to the exchanger at once."
            ),
        )

    _notify(user, compose)


def _notify(user: Any, compose: Callable[[], tuple[str, str]]) -> None:
    """E-mails the user in its partner language (else the site's) once the change commits."""
    if not user.email:
        return
    language = Partner.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    with translation.override(language or settings.LANGUAGE_CODE):
        subject, body = compose()
    email_on_commit(subject=subject, body=body, to=[user.email])
