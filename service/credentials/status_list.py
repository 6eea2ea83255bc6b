"""W3C Bitstring Status List: the bitstring, its ``encodedList`` and the status list credential.

Bit ``i`` of the list is bit ``7 - i % 8`` of byte ``i // 8`` (index 0 is the most significant bit of
the first byte). ``encodedList`` is the multibase base64url (``u`` prefix, no padding) of the GZIP of the
bitstring. Lists hold at least 131,072 entries (16 KiB) so a single credential cannot be singled out by
the list it lives in. Decoding is bounded, so a hostile list cannot expand into gigabytes.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.credentials.contexts import VC_V2
from service.credentials.encoding import multibase_decode, multibase_encode
from service.credentials.errors import KeyFormatError, StatusListError
from service.credentials.timeutil import format_datetime

MIN_ENTRIES = 131_072
MAX_ENTRIES = 1 << 26  # 8 MiB of bits: a decode limit, far above any list this service issues
STATUS_PURPOSES = ("revocation", "suspension", "refresh", "message")


class Bitstring:
    """A fixed-size, mutable bitstring (``set`` / ``get`` by index)."""

    def __init__(self, length: int = MIN_ENTRIES, *, data: bytes | None = None) -> None:
        if data is not None:
            length = len(data) * 8
        if length < MIN_ENTRIES:
            raise StatusListError(f"a status list needs at least {MIN_ENTRIES} entries, got {length}")
        if length % 8:
            raise StatusListError("the status list length must be a multiple of 8")
        if length > MAX_ENTRIES:
            raise StatusListError(f"a status list may hold at most {MAX_ENTRIES} entries")
        self._bits = bytearray(data) if data is not None else bytearray(length // 8)

    def __len__(self) -> int:
        return len(self._bits) * 8

    def _position(self, index: int) -> tuple[int, int]:
        if not 0 <= index < len(self):
            raise StatusListError(f"status index {index} is outside the list (0..{len(self) - 1})")
        return index // 8, 7 - index % 8

    def get(self, index: int) -> bool:
        """Whether bit ``index`` is set (e.g. the credential at that index is revoked)."""
        byte, bit = self._position(index)
        return bool(self._bits[byte] >> bit & 1)

    def set(self, index: int, value: bool = True) -> None:
        """Set (or clear, with ``value=False``) bit ``index``."""
        byte, bit = self._position(index)
        if value:
            self._bits[byte] |= 1 << bit
        else:
            self._bits[byte] &= ~(1 << bit) & 0xFF

    def set_indexes(self) -> list[int]:
        """Every index whose bit is set, ascending."""
        return [
            byte_index * 8 + offset
            for byte_index, byte in enumerate(self._bits)
            if byte
            for offset in range(8)
            if byte >> (7 - offset) & 1
        ]

    def to_bytes(self) -> bytes:
        """The raw bitstring."""
        return bytes(self._bits)

    def encode(self) -> str:
        """``encodedList``: multibase base64url of the GZIP-compressed bitstring (deterministic)."""
        # Level 6 and mtime 0: deterministic, and the empty list matches the spec example byte for byte.
        return multibase_encode(gzip.compress(bytes(self._bits), compresslevel=6, mtime=0), "u")

    @classmethod
    def decode(cls, encoded: str, *, max_entries: int = MAX_ENTRIES) -> Bitstring:
        """Parse an ``encodedList`` (multibase ``u``; a bare base64url string is accepted too, as older
        lists were published without the prefix). Refuses lists that expand beyond ``max_entries``."""
        if not isinstance(encoded, str) or not encoded:
            raise StatusListError("encodedList must be a non-empty string")
        try:
            compressed = multibase_decode(encoded if encoded[0] == "u" else "u" + encoded)
        except KeyFormatError as exc:
            raise StatusListError(f"encodedList is not base64url: {exc}") from exc
        limit = max_entries // 8
        inflater = zlib.decompressobj(wbits=31)  # GZIP container only
        try:
            data = inflater.decompress(compressed, limit + 1)
        except zlib.error as exc:
            raise StatusListError(f"encodedList is not GZIP data: {exc}") from exc
        if len(data) > limit or inflater.unconsumed_tail:
            raise StatusListError(f"encodedList expands beyond {max_entries} entries")
        if not inflater.eof:
            raise StatusListError("encodedList is a truncated GZIP stream")
        return cls(data=data)


@dataclass(frozen=True)
class BitstringStatusListEntry:
    """``credentialStatus`` of a credential: which list and which index to look at."""

    status_list_credential: str
    status_list_index: int
    status_purpose: str = "revocation"

    def to_json(self) -> dict[str, Any]:
        """The JSON object (``statusListIndex`` as a string of digits, as the spec requires)."""
        return {
            "id": f"{self.status_list_credential}#{self.status_list_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": self.status_purpose,
            "statusListIndex": str(self.status_list_index),
            "statusListCredential": self.status_list_credential,
        }


def build_status_list_credential(
    *,
    credential_id: str,
    issuer: str | Mapping[str, Any],
    bitstring: Bitstring,
    valid_from: datetime,
    valid_until: datetime | None = None,
    status_purpose: str = "revocation",
) -> dict[str, Any]:
    """The unsigned ``BitstringStatusListCredential`` publishing ``bitstring`` at ``credential_id``."""
    if status_purpose not in STATUS_PURPOSES:
        raise StatusListError(f"unknown statusPurpose {status_purpose!r}")
    credential: dict[str, Any] = {
        "@context": [VC_V2],
        "id": credential_id,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": dict(issuer) if isinstance(issuer, Mapping) else issuer,
        "validFrom": format_datetime(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = format_datetime(valid_until)
    credential["credentialSubject"] = {
        "id": f"{credential_id}#list",
        "type": "BitstringStatusList",
        "statusPurpose": status_purpose,
        "encodedList": bitstring.encode(),
    }
    return credential


@dataclass(frozen=True)
class StatusResult:
    """The status a list gives one credential: ``set`` = the bit is on (revoked / suspended)."""

    purpose: str
    index: int | None
    set: bool

    @property
    def message(self) -> str:
        """A readable sentence (``revoked`` / ``not revoked`` for revocation lists)."""
        word = {"revocation": "revoked", "suspension": "suspended"}.get(
            self.purpose, f"{self.purpose} bit set"
        )
        where = f" (status list index {self.index})" if self.index is not None else ""
        return f"{word}{where}" if self.set else f"not {word}{where}"


def check_status(entry: Mapping[str, Any], status_list_credential: Mapping[str, Any]) -> StatusResult:
    """Read one ``BitstringStatusListEntry`` against its (already fetched and verified) list credential.

    Checks that the list is the one the entry names, that the purposes match, and that the index is in
    range; raises :class:`StatusListError` otherwise.
    """
    if entry.get("type") != "BitstringStatusListEntry":
        raise StatusListError(f"unsupported credentialStatus type {entry.get('type')!r}")
    size = entry.get("statusSize", 1)
    if size not in (1, "1"):
        raise StatusListError(f"statusSize {size!r} is not supported (only single-bit statuses)")
    list_url = entry.get("statusListCredential")
    if status_list_credential.get("id") != list_url:
        raise StatusListError("the status list credential is not the one the entry names")
    types = status_list_credential.get("type")
    if "BitstringStatusListCredential" not in (types if isinstance(types, list) else [types]):
        raise StatusListError("statusListCredential is not a BitstringStatusListCredential")
    raw_index = entry.get("statusListIndex")
    if isinstance(raw_index, int) and not isinstance(raw_index, bool) and raw_index >= 0:
        raw_index = str(raw_index)  # some issuers publish a JSON number; the meaning is unambiguous
    if not isinstance(raw_index, str) or not raw_index.isdigit():
        raise StatusListError("statusListIndex must be a string of digits")
    subjects = status_list_credential.get("credentialSubject")
    subject = subjects[0] if isinstance(subjects, list) and subjects else subjects
    if not isinstance(subject, Mapping) or subject.get("type") != "BitstringStatusList":
        raise StatusListError("the status list credential's subject is not a BitstringStatusList")
    purpose = entry.get("statusPurpose")
    list_purposes = subject.get("statusPurpose")
    allowed = list_purposes if isinstance(list_purposes, list) else [list_purposes]
    if purpose not in allowed:
        raise StatusListError(f"statusPurpose {purpose!r} does not match the list's {list_purposes!r}")
    bits = Bitstring.decode(subject.get("encodedList", ""))
    index = int(raw_index)
    return StatusResult(purpose=str(purpose), index=index, set=bits.get(index))
