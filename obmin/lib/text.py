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


def hidden_character(value: str) -> str | None:
    """The first character of the text that is invisible or reorders the text around it
    (an account, a URL), or None: what a person reads would not be what is stored."""
    return next((ch for ch in value if unicodedata.category(ch) in HIDDEN_CATEGORIES), None)


def has_hidden_characters(value: str) -> bool:
    return hidden_character(value) is not None


def plain_spaces(value: str) -> str:
    """Pasted text with its spaces made harmless: trimmed (ordinary, no-break and other
    spaces), and the no-break, narrow or ideographic spaces inside made ordinary ones (bank
    apps group a card number's digits with them). Hidden characters are left for the caller
    to refuse."""
    return "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in value).strip()


def _script(letter: str) -> str:
    # The first word of a letter's Unicode name is its script for every alphabet an account
    # can be typed in (LATIN, CYRILLIC, GREEK, ARMENIAN...); look-alike forms name themselves
    # otherwise (FULLWIDTH, MATHEMATICAL, KELVIN SIGN), so they count as another script.
    return unicodedata.name(letter, "").partition(" ")[0]


def foreign_letter(value: str) -> str | None:
    """The first letter of another script in a text that also has Latin letters (a Cyrillic
    `а` in a Latin address or e-mail), or None. Text in one script, whatever it is, and
    digits and punctuation beside it are not mixed."""
    letters = [ch for ch in value if ch.isalpha()]
    if not any(_script(ch) == "LATIN" for ch in letters):
        return None
    return next((ch for ch in letters if _script(ch) != "LATIN"), None)


def character_name(ch: str) -> str:
    """`U+200B ZERO WIDTH SPACE`: a character named so that a person can tell it apart."""
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'control character')}"


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
