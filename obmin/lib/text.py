"""Normalising text that people type, one function per kind of input."""

from __future__ import annotations

import unicodedata


def normalize_email(value: str | None) -> str:
    """An e-mail address as stored and compared everywhere: trimmed and lower-cased.

    Lower-casing the local part too is deliberate: customers and partners type addresses in any
    case, and no mailbox provider they use tells `Bob@` from `bob@`.
    """
    return (value or "").strip().lower()


# Control (ESC, NUL), format (bidi overrides and isolates, zero-width, BOM), private-use,
# surrogate and unassigned code points, and line or paragraph separators: invisible, or
# reordering what is shown around them.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})


def has_hidden_characters(value: str) -> bool:
    """Whether the text holds a character that is invisible or reorders the text around it
    (an account, a URL): what a person reads would not be what is stored."""
    return any(unicodedata.category(ch) in HIDDEN_CATEGORIES for ch in value)


def ascii_digits(value: str) -> bool:
    """Whether the text is one or more ASCII digits (`str.isdigit`, `\\d`, `int()` and
    `Decimal()` also take Arabic-Indic, Devanagari and full-width digits)."""
    return value.isascii() and value.isdigit()


# Providers that ignore dots in the local part (`a.lice@gmail.com` is `alice@gmail.com`).
_DOTLESS_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def email_mailbox(value: str | None) -> str:
    """The mailbox an address delivers to, for telling one person's aliases apart from other
    people: normalised, without a `+tag`, and without dots where the provider ignores them
    (`A.lice+shop@Gmail.com` -> `alice@gmail.com`). For comparing only, never for sending."""
    email = normalize_email(value)
    local, at, domain = email.rpartition("@")
    if not at:
        return email
    local = local.split("+", 1)[0]
    if domain in _DOTLESS_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"
