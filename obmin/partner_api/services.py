"""Creating and revoking partners' API keys."""

from __future__ import annotations

import ipaddress
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from obmin.audit.models import AuditAction
from obmin.audit.services import audit_record
from obmin.lib.errors import Refused
from obmin.partner_api.models import LIVE_PREFIX, TEST_PREFIX, ApiKey
from obmin.partner_api.selectors import hash_key
from obmin.partner_api.v1.catalog import ALL_METHODS
from obmin.partners.models import Partner


class ApiKeyError(Refused):
    """A refused request about a key; `field` names the input at fault."""


def clean_allowed_ips(entries: list[str] | None) -> list[str]:
    """Normalises IPs and CIDR networks (`10.0.0.0/8`); raises ApiKeyError on a bad one."""
    cleaned: list[str] = []
    for entry in entries or []:
        entry = str(entry).strip()
        if not entry:
            continue
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ApiKeyError(
                _("%(entry)s is not an IP address or network.") % {"entry": entry},
                "allowed_ips") from None
        text = str(network.network_address) if network.num_addresses == 1 else str(network)
        if text not in cleaned:
            cleaned.append(text)
    return cleaned


def clean_methods(names: list[str] | None) -> list[str]:
    """The v1 method names a key is limited to, without repeats; raises ApiKeyError on an
    unknown one. Empty: every method."""
    cleaned: list[str] = []
    for name in names or []:
        name = str(name).strip()
        if not name or name in cleaned:
            continue
        if name not in ALL_METHODS:
            raise ApiKeyError(_("Unknown method %(name)s; use one of: %(all)s.")
                              % {"name": name, "all": ", ".join(ALL_METHODS)}, "methods")
        cleaned.append(name)
    return cleaned


def apikey_create(
    *,
    partner: Partner,
    name: str = "",
    test: bool = False,
    allowed_ips: list[str] | None = None,
    methods: list[str] | None = None,
) -> tuple[ApiKey, str]:
    """Creates a key; returns it with the raw key, which is shown this once and never stored.
    The key's public `login` (API v1) is on the returned key. A blocked partner gets none."""
    if partner.is_blocked:
        raise ApiKeyError(_("Your account is blocked: new API keys cannot be created."))
    method_set = clean_methods(methods)
    raw_key = (TEST_PREFIX if test else LIVE_PREFIX) + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            partner=partner,
            name=name.strip()[:100],
            is_test=test,
            key_hash=hash_key(raw_key),
            key_start=raw_key[: len(LIVE_PREFIX) + 4],
            allowed_ips=clean_allowed_ips(allowed_ips),
            methods=method_set,
        )
        audit_record(action=AuditAction.APIKEY_CREATED, obj=key,
                     after={"partner": partner.pk, "name": key.name, "test": key.is_test,
                            "key_start": key.key_start, "allowed_ips": key.allowed_ips,
                            "methods": key.methods})
    return key, raw_key


def apikey_revoke(*, partner: Partner, key_id: int) -> ApiKey:
    """Revokes one of the partner's keys (another partner's key is "not found")."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().filter(partner=partner, pk=key_id).first()
        if key is None:
            raise ApiKeyError(_("No such API key."), "key_id")
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            audit_record(action=AuditAction.APIKEY_REVOKED, obj=key,
                         before={"revoked_at": None}, after={"revoked_at": key.revoked_at})
    return key
