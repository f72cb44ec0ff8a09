"""Normalising text that people type, one function per kind of input."""

from __future__ import annotations


def normalize_email(value: str | None) -> str:
    """An e-mail address as stored and compared everywhere: trimmed and lower-cased.

    Lower-casing the local part too is deliberate: customers and partners type addresses in any
    case, and no mailbox provider they use tells `Bob@` from `bob@`.
    """
    return (value or "").strip().lower()
