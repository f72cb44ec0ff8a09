"""Decimal helpers: money is never a float."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def quantize(amount: Decimal, decimals: int, rounding: str = ROUND_HALF_UP) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-decimals), rounding=rounding)


def quantize_down(amount: Decimal, decimals: int) -> Decimal:
    """Rounds toward zero: what the customer receives is never rounded up."""
    return quantize(amount, decimals, ROUND_DOWN)


def plain(amount: Decimal) -> str:
    """A Decimal as plain digits, no exponent, no trailing zeros: `0.0000101`, `5000`."""
    # Not normalize(): it rounds to the context's 28 digits, and amounts have up to 30.
    text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def significant(amount: Decimal, digits: int = 8) -> Decimal:
    """Rounds to `digits` significant digits, so tiny rates are never written as 0."""
    if amount.is_zero():
        return amount
    exponent = amount.adjusted() - digits + 1
    return amount.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)
