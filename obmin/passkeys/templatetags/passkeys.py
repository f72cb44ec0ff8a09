"""What the two-factor pages' passkey parts read: the user's passkeys, and whether browsers
will run WebAuthn for this site at all."""

from __future__ import annotations

from typing import Any

from django import template

from obmin.passkeys.services import passkeys_of
from obmin.passkeys.webauthn import passkeys_possible

register = template.Library()


@register.simple_tag
def user_passkeys(user: Any) -> list[Any]:
    return list(passkeys_of(user)) if user.is_authenticated else []


@register.simple_tag
def passkeys_work() -> bool:
    return passkeys_possible()
