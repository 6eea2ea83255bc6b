"""Bitstring Status List: bits, encodedList, the list credential and reading a status."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from service.credentials import (
    Bitstring,
    BitstringStatusListEntry,
    StatusListError,
    build_status_list_credential,
    check_status,
)
from service.credentials.encoding import multibase_encode
from service.credentials.status_list import MIN_ENTRIES

# The empty 131,072-entry list of the W3C Bitstring Status List specification's examples.
SPEC_EMPTY_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
LIST_URL = "https://portrait.example.org/status-lists/1"


def test_empty_list_matches_the_spec_example() -> None:
    assert Bitstring().encode() == SPEC_EMPTY_LIST
    decoded = Bitstring.decode(SPEC_EMPTY_LIST)
    assert len(decoded) == MIN_ENTRIES
    assert decoded.set_indexes() == []


@pytest.mark.parametrize(
    ("index", "byte", "mask"),
    [
        (0, 0, 0x80),
        (1, 0, 0x40),
        (7, 0, 0x01),
        (8, 1, 0x80),
        (94567, 11820, 0x01),
        (MIN_ENTRIES - 1, 16383, 0x01),
    ],
)
def test_bit_order_is_left_to_right(index: int, byte: int, mask: int) -> None:
    bits = Bitstring()
    bits.set(index)
    raw = bits.to_bytes()
    assert raw[byte] == mask
    assert sum(raw) == mask
    assert bits.get(index) and bits.set_indexes() == [index]
    bits.set(index, False)
    assert not bits.get(index)


def test_encode_decode_round_trip() -> None:
    bits = Bitstring(MIN_ENTRIES * 2)
    for index in (0, 5, 131_071, 131_072, 262_143):
        bits.set(index)
    encoded = bits.encode()
    assert encoded.startswith("u")
    again = Bitstring.decode(encoded)
    assert len(again) == MIN_ENTRIES * 2
    assert again.set_indexes() == [0, 5, 131_071, 131_072, 262_143]
    assert Bitstring.decode(encoded[1:]).set_indexes() == again.set_indexes()  # unprefixed legacy form


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("", "non-empty"),
        ("u!!!", "base64url"),
        ("u" + "A" * 40, "GZIP"),
        (multibase_encode(gzip.compress(bytes(1024)), "u"), "at least 131072"),
        (multibase_encode(gzip.compress(bytes(16384))[:-12], "u"), "truncated"),
    ],
)
def test_malformed_lists_are_refused(encoded: str, message: str) -> None:
    with pytest.raises(StatusListError, match=message):
        Bitstring.decode(encoded)


def test_gzip_bomb_is_refused() -> None:
    bomb = multibase_encode(gzip.compress(bytes(64 * 1024 * 1024)), "u")  # 512 Mi entries, ~64 KiB encoded
    with pytest.raises(StatusListError, match="expands beyond"):
        Bitstring.decode(bomb)


def test_short_or_odd_lists_are_refused() -> None:
    with pytest.raises(StatusListError, match="at least"):
        Bitstring(1000)
    with pytest.raises(StatusListError, match="outside"):
        Bitstring().get(MIN_ENTRIES)
    with pytest.raises(StatusListError, match="outside"):
        Bitstring().set(-1)


def test_status_list_credential_and_entry() -> None:
    bits = Bitstring()
    bits.set(42)
    credential = build_status_list_credential(
        credential_id=LIST_URL,
        issuer="did:web:portrait.example.org:issuers:north",
        bitstring=bits,
        valid_from=datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert credential["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert credential["credentialSubject"]["type"] == "BitstringStatusList"
    assert credential["credentialSubject"]["statusPurpose"] == "revocation"
    entry = BitstringStatusListEntry(LIST_URL, 42).to_json()
    assert entry == {
        "id": f"{LIST_URL}#42",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "42",
        "statusListCredential": LIST_URL,
    }
    result = check_status(entry, credential)
    assert result.set and result.message == "revoked (status list index 42)"
    assert not check_status(BitstringStatusListEntry(LIST_URL, 43).to_json(), credential).set


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"statusListCredential": "https://elsewhere.example/list"}, "not the one"),
        ({"statusPurpose": "suspension"}, "does not match"),
        ({"statusListIndex": "-1"}, "digits"),
        ({"type": "StatusList2021Entry"}, "unsupported"),
        ({"statusListIndex": "131072"}, "outside"),
    ],
)
def test_check_status_refuses_mismatches(change: dict[str, object], message: str) -> None:
    credential = build_status_list_credential(
        credential_id=LIST_URL, issuer="did:example:1", bitstring=Bitstring(), valid_from=datetime(2025, 1, 1)
    )
    entry = {**BitstringStatusListEntry(LIST_URL, 42).to_json(), **change}
    with pytest.raises(StatusListError, match=message):
        check_status(entry, credential)
