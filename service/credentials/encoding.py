"""Multibase (base58btc ``z``, base64url ``u``), multicodec prefixes and base64url helpers."""

from __future__ import annotations

import base64
import re

from service.credentials.errors import KeyFormatError

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B64URL = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")
_B58_INDEX = {char: index for index, char in enumerate(_B58_ALPHABET)}

# Multicodec varint prefixes (https://github.com/multiformats/multicodec table).
ED25519_PUB = b"\xed\x01"
ED25519_PRIV = b"\x80\x26"
P256_PUB = b"\x80\x24"


def b58encode(data: bytes) -> str:
    """Base58 (Bitcoin alphabet) encoding; leading zero bytes become ``1`` characters."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    chars: list[str] = []
    while number:
        number, remainder = divmod(number, 58)
        chars.append(_B58_ALPHABET[remainder])
    return "1" * zeros + "".join(reversed(chars))


def b58decode(text: str) -> bytes:
    """Decode base58 (Bitcoin alphabet); raises :class:`KeyFormatError` on a foreign character."""
    number = 0
    for char in text:
        try:
            number = number * 58 + _B58_INDEX[char]
        except KeyError:
            raise KeyFormatError(f"invalid base58 character {char!r}") from None
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 4648 section 5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; raises :class:`KeyFormatError` when malformed."""
    if not isinstance(text, str) or not _B64URL.match(text):
        raise KeyFormatError("invalid base64url data")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise KeyFormatError("invalid base64url data") from exc


def multibase_encode(data: bytes, base: str = "z") -> str:
    """Multibase-encode ``data``: ``z`` = base58btc (default), ``u`` = base64url without padding."""
    if base == "z":
        return "z" + b58encode(data)
    if base == "u":
        return "u" + b64url_encode(data)
    raise KeyFormatError(f"unsupported multibase prefix {base!r}")


def multibase_decode(text: str) -> bytes:
    """Decode a ``z`` (base58btc) or ``u`` (base64url) multibase string."""
    if not text:
        raise KeyFormatError("empty multibase value")
    if text[0] == "z":
        return b58decode(text[1:])
    if text[0] == "u":
        return b64url_decode(text[1:])
    raise KeyFormatError(f"unsupported multibase prefix {text[0]!r} (expected 'z' or 'u')")
