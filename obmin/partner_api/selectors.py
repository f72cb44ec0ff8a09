"""Reads about API keys that the cabinet and the endpoint share."""

from __future__ import annotations

import hashlib
import secrets

from django.db.models import QuerySet

from obmin.partner_api.models import ApiKey
from obmin.partners.models import Partner


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8", "surrogatepass")).hexdigest()


def partner_api_keys(partner: Partner) -> QuerySet[ApiKey]:
    """The partner's keys, newest first, revoked ones included (they show as revoked)."""
    return ApiKey.objects.filter(partner=partner).order_by("-created_at", "-id")


def apikey_for_raw(raw_key: str) -> ApiKey | None:
    """The active key whose hash matches, with its partner; None for unknown or revoked keys."""
    if not raw_key or len(raw_key) > 200:
        return None
    return (ApiKey.objects.select_related("partner")
            .filter(key_hash=hash_key(raw_key), revoked_at__isnull=True).first())


def apikey_for_login(login: str, raw_key: str) -> ApiKey | None:
    """API v1: the active key with this login whose secret matches, else None (a wrong
    login and a wrong secret are told apart by nobody)."""
    if not login or len(login) > 64:
        return None
    key = apikey_for_raw(raw_key)
    # As bytes: compare_digest raises on a str with other than ASCII (headers are latin-1).
    if key is None or not secrets.compare_digest(key.login.encode(), login.encode()):
        return None
    return key
