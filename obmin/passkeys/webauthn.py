"""The relying party of WebAuthn ceremonies is the site's one public address (`SITE_URL`): its
host is the relying party id, its origin the only one a browser may sign for. A passkey
registered there works wherever the site is reached at that address.

django-otp-webauthn's helper runs the ceremonies (py_webauthn underneath); this subclass only
answers the relying party from `obmin.lib.site` at the time of the call, not from settings
read once at start.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django_otp_webauthn.helpers import WebAuthnHelper

from obmin.lib.site import public_hostname, public_origin


class SiteWebAuthnHelper(WebAuthnHelper):
    """django-otp-webauthn's helper with the relying party taken from SITE_URL."""

    def get_relying_party_domain(self) -> str:
        return public_hostname()

    def get_relying_party_name(self) -> str:
        return str(settings.OTP_WEBAUTHN_RP_NAME)

    def get_allowed_origins(self) -> list[str]:
        return [public_origin()]


def passkeys_possible() -> bool:
    """Whether browsers will run WebAuthn for SITE_URL: a secure context (https, or http on
    localhost) at a domain name (an IP address is never a relying party id)."""
    parts = urlsplit(settings.SITE_URL)
    host = (parts.hostname or "").lower()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return False
    if not host:
        return False
    local = host == "localhost" or host.endswith(".localhost")
    return parts.scheme == "https" or (parts.scheme == "http" and local)
