"""Account formats: what a customer's receiving account must look like for each currency.

Each currency has one format (`Currency.account_format`); `account_normalize` answers the
account as it is kept (spaces dropped, case fixed where the format ignores case) or None when
it is not an account of that format. Checksums are checked wherever the format has one, so a
mistyped character is caught before any money is sent to it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

import base58
from Crypto.Hash import keccak
from django.db import models
from django.utils.translation import gettext_lazy as _

from obmin.lib.text import has_hidden_characters


class AccountFormat(models.TextChoices):
    ANY = "any", _("any text")
    BITCOIN = "bitcoin", _("Bitcoin address (1…, 3… or bc1…)")
    LITECOIN = "litecoin", _("Litecoin address (L…, M…, 3… or ltc1…)")
    ETHEREUM = "ethereum", _("Ethereum-style address (0x and 40 hex digits)")
    TRON = "tron", _("TRON address (T…, 34 characters)")
    MONERO = "monero", _("Monero address (4… or 8…, 95 characters)")
    TON = "ton", _("TON address (48 characters, EQ…/UQ…)")
    CARD = "card", _("card number (13 to 19 digits)")
    PERFECT_MONEY = "perfectmoney", _("Perfect Money account (U and 7 or 8 digits)")
    ADVCASH = "advcash", _("AdvCash wallet (U, E, R or G and 12 digits) or e-mail")
    PAYEER = "payeer", _("Payeer account (P and 7 to 12 digits)")


# Formats the demo's (and most exchangers') monitoring codes use; the operator may change any.
SUGGESTED_FORMATS: dict[str, AccountFormat] = {
    "PMUSD": AccountFormat.PERFECT_MONEY,
    "ADVCUSD": AccountFormat.ADVCASH,
    "PRUSD": AccountFormat.PAYEER,
    "BTC": AccountFormat.BITCOIN,
    "LTC": AccountFormat.LITECOIN,
    "ETH": AccountFormat.ETHEREUM,
    "USDTERC20": AccountFormat.ETHEREUM,
    "USDTTRC20": AccountFormat.TRON,
    "XMR": AccountFormat.MONERO,
    "TON": AccountFormat.TON,
    "P24UAH": AccountFormat.CARD,
    "MONOBUAH": AccountFormat.CARD,
    "CARDUAH": AccountFormat.CARD,
    "SBERRUB": AccountFormat.CARD,
}

# One valid account of each format: the form's placeholder, the demo's customers, the tests.
EXAMPLES: dict[str, str] = {
    AccountFormat.ANY: "",
    AccountFormat.BITCOIN: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    AccountFormat.LITECOIN: "ltc1qg42tkwuuxefutzxezdkdel39gfstuap288mfea",
    AccountFormat.ETHEREUM: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    AccountFormat.TRON: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
    AccountFormat.MONERO: ("44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaB"
                           "YBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"),
    AccountFormat.TON: "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N",
    AccountFormat.CARD: "4111111111111111",
    AccountFormat.PERFECT_MONEY: "U1234567",
    AccountFormat.ADVCASH: "U123456789012",
    AccountFormat.PAYEER: "P1000000",
}


# --- bech32 / bech32m (BIP-173, BIP-350) -------------------------------------------------
# Written out from the BIPs' reference code (a few lines): the `bech32` package on PyPI has
# had no release since 2020 and does not know bech32m, which taproot (bc1p…) addresses use.
_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_CONST, _BECH32M_CONST = 1, 0x2BC830A3


def _bech32_polymod(values: list[int]) -> int:
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            checksum ^= generator[i] if (top >> i) & 1 else 0
    return checksum


def _bech32_decode(text: str) -> tuple[str, list[int], int] | None:
    """(hrp, data without checksum, checksum constant) or None."""
    if text.lower() != text and text.upper() != text:
        return None
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text) or len(text) > 90:
        return None
    hrp, rest = text[:pos], text[pos + 1:]
    if any(ord(c) < 33 or ord(c) > 126 for c in hrp) or any(c not in _BECH32_CHARSET
                                                            for c in rest):
        return None
    data = [_BECH32_CHARSET.index(c) for c in rest]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    const = _bech32_polymod(expanded + data)
    if const not in (_BECH32_CONST, _BECH32M_CONST):
        return None
    return hrp, data[:-6], const


def _convert_bits(data: list[int], from_bits: int, to_bits: int) -> list[int] | None:
    """5-bit groups back to bytes, refusing non-zero padding (BIP-173)."""
    acc = bits = 0
    result = []
    max_value = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            result.append((acc >> bits) & max_value)
    if bits >= from_bits or (acc << (to_bits - bits)) & max_value:
        return None
    return result


def _segwit_ok(text: str, hrp: str) -> bool:
    decoded = _bech32_decode(text)
    if decoded is None or decoded[0] != hrp or not decoded[1]:
        return False
    _hrp, data, const = decoded
    version, program = data[0], _convert_bits(data[1:], 5, 8)
    if program is None or version > 16 or not 2 <= len(program) <= 40:
        return False
    if version == 0:
        return const == _BECH32_CONST and len(program) in (20, 32)
    return const == _BECH32M_CONST


def _base58check_version(text: str, length: int = 21) -> int | None:
    """The version byte of a base58check string of `length` bytes, or None."""
    try:
        payload = base58.b58decode_check(text)
    except ValueError:
        return None
    return payload[0] if len(payload) == length else None


def _bitcoin_like(text: str, versions: set[int], hrp: str) -> str | None:
    if text.lower().startswith(hrp + "1"):
        return text.lower() if _segwit_ok(text, hrp) else None
    return text if _base58check_version(text) in versions else None


def _bitcoin(text: str) -> str | None:
    # Mainnet only: 0x00 pay-to-key-hash (1…), 0x05 pay-to-script-hash (3…).
    return _bitcoin_like(text, {0x00, 0x05}, "bc")


def _litecoin(text: str) -> str | None:
    # 0x30 L…, 0x32 M… and the older 0x05 3… script addresses.
    return _bitcoin_like(text, {0x30, 0x32, 0x05}, "ltc")


def _ethereum(text: str) -> str | None:
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
        return None
    digits = text[2:]
    if digits.lower() == digits or digits.upper() == digits:
        return text  # one case: written without the EIP-55 checksum
    hashed = keccak.new(digest_bits=256, data=digits.lower().encode()).hexdigest()
    for char, nibble in zip(digits, hashed[:40], strict=True):
        if char.isalpha() and char.isupper() != (int(nibble, 16) >= 8):
            return None
    return text


def _tron(text: str) -> str | None:
    return text if text.startswith("T") and _base58check_version(text) == 0x41 else None


def _monero(text: str) -> str | None:
    # Shape only: Monero's checksum needs its own block-wise base58, which no light package
    # offers; a wrong character is still caught by the wallet that sends.
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    if re.fullmatch(rf"[48][{alphabet}]{{94}}", text):
        return text
    return None


def _ton(text: str) -> str | None:
    if re.fullmatch(r"-?[01]:[0-9a-fA-F]{64}", text):
        return text.lower()
    if not re.fullmatch(r"[A-Za-z0-9_\-+/]{48}", text):
        return None
    raw = base64.b64decode(text.replace("-", "+").replace("_", "/"))
    # 1 flag byte, 1 workchain byte, 32 bytes of hash, CRC16-XMODEM of those 34.
    if binascii.crc_hqx(raw[:34], 0) != int.from_bytes(raw[34:], "big"):
        return None
    return text


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(text: str) -> str | None:
    digits = re.sub(r"[ \t-]", "", text)
    if re.fullmatch(r"[0-9]{13,19}", digits) and _luhn_ok(digits):
        return digits
    return None


def _pattern(regex: str) -> Callable[[str], str | None]:
    def check(text: str) -> str | None:
        # ASCII: no KELVIN SIGN for K, no Arabic-Indic or full-width digits for 0-9.
        return text.upper() if re.fullmatch(regex, text, re.IGNORECASE | re.ASCII) else None
    return check


def _advcash(text: str) -> str | None:
    if text.isascii() and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
        return text.lower()
    return _pattern(r"[UERG][0-9]{12}")(re.sub(r"[ \t]", "", text))


_CHECKS: dict[str, Callable[[str], str | None]] = {
    AccountFormat.ANY: lambda text: text or None,
    AccountFormat.BITCOIN: _bitcoin,
    AccountFormat.LITECOIN: _litecoin,
    AccountFormat.ETHEREUM: _ethereum,
    AccountFormat.TRON: _tron,
    AccountFormat.MONERO: _monero,
    AccountFormat.TON: _ton,
    AccountFormat.CARD: _card,
    AccountFormat.PERFECT_MONEY: _pattern(r"U[0-9]{7,8}"),
    AccountFormat.ADVCASH: _advcash,
    AccountFormat.PAYEER: _pattern(r"P[0-9]{7,12}"),
}


def account_normalize(account_format: str, account: str) -> str | None:
    """`account` as it is kept when it is an account of `account_format`, else None. No
    format keeps control, bidi or zero-width characters (free text included): what the
    operator reads must be what the money is sent to."""
    if has_hidden_characters(account):
        return None
    return _CHECKS[account_format](account.strip())


def is_crypto_address(account_format: str) -> bool:
    """Whether accounts of this format are addresses a wallet can scan as a QR code."""
    return account_format in {AccountFormat.BITCOIN, AccountFormat.LITECOIN,
                              AccountFormat.ETHEREUM, AccountFormat.TRON,
                              AccountFormat.MONERO, AccountFormat.TON}
