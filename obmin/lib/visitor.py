"""The visitor's `user_hash`: a random first-party id in the `obmin_vid` cookie.

Written by the /ref/ redirect on a visitor's first click, stored with each click and each
exchange, so a partner can match its clicks to its exchanges (`user_hash` on the wire).
"""

from __future__ import annotations

import re
import secrets

from django.http import HttpRequest

USER_HASH_COOKIE = "obmin_vid"
_USER_HASH = re.compile(r"[A-Za-z0-9_-]{8,32}")


def new_user_hash() -> str:
    return secrets.token_hex(8)


def user_hash_of(request: HttpRequest) -> str:
    """The visitor's `user_hash` from its cookie, or "" (no cookie, or one we did not write)."""
    value = request.COOKIES.get(USER_HASH_COOKIE) or ""
    return value if _USER_HASH.fullmatch(value) else ""
