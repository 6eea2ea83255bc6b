"""Baked badge images: PNG iTXt and SVG openbadges:credential, round trips, replacement, bad input."""

from __future__ import annotations

import json
import struct
import zlib

import pytest

from service.credentials.baking import (
    MAX_CREDENTIAL_CHARS,
    MAX_IMAGE_BYTES,
    OB_NAMESPACE,
    PNG_SIGNATURE,
    bake_png,
    bake_svg,
    extract_png,
    extract_svg,
)
from service.credentials.errors import BakingError, CredentialError

CREDENTIAL = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "name": "Collaboration ]]> <b>&amp; \u00e9",
}
JWS = "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJkaWQ6a2V5OnoifQ.c2lnbmF0dXJl"


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_png(*extra: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00\x00")
    return PNG_SIGNATURE + chunk(b"IHDR", ihdr) + b"".join(extra) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def chunks_of(png: bytes) -> list[tuple[bytes, bytes]]:
    out = []
    offset = 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        data = png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + data)
        out.append((kind, data))
        offset += 12 + length
    return out


SVG_NS = "http://www.w3.org/2000/svg"
SVG = f'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="{SVG_NS}" width="10"><circle r="4"/></svg>'


@pytest.mark.parametrize(
    ("credential", "expected"),
    [
        (CREDENTIAL, json.dumps(CREDENTIAL, ensure_ascii=False, separators=(",", ":"))),
        (json.dumps(CREDENTIAL), json.dumps(CREDENTIAL)),
        (JWS, JWS),
        ("  " + JWS + "\n", JWS),
    ],
)
def test_png_round_trip(credential: object, expected: str) -> None:
    baked = bake_png(make_png(), credential)  # type: ignore[arg-type]
    assert extract_png(baked) == expected
    kinds = [kind for kind, _ in chunks_of(baked)]
    assert kinds == [b"IHDR", b"iTXt", b"IDAT", b"IEND"]
    keyword, _, rest = chunks_of(baked)[1][1].partition(b"\0")
    assert keyword == b"openbadgecredential"
    assert rest[:4] == b"\0\0\0\0"  # uncompressed, method 0, no language, no translated keyword


def test_png_rebake_replaces_the_credential_and_keeps_other_chunks() -> None:
    text_chunk = chunk(b"tEXt", b"Comment\0hello")
    baked = bake_png(make_png(text_chunk), CREDENTIAL)
    again = bake_png(baked, JWS)
    assert extract_png(again) == JWS
    kinds = [kind for kind, _ in chunks_of(again)]
    assert kinds.count(b"iTXt") == 1
    assert (b"tEXt", b"Comment\0hello") in chunks_of(again)


def test_png_without_credential_and_other_itxt() -> None:
    other = chunk(b"iTXt", b"Description\0\0\0\0\0text")
    assert extract_png(make_png(other)) is None


def test_png_compressed_itxt_is_read() -> None:
    body = b"openbadgecredential\0\x01\x00\0\0" + zlib.compress(JWS.encode())
    assert extract_png(make_png(chunk(b"iTXt", body))) == JWS


def test_png_zlib_bomb_is_refused() -> None:
    body = b"openbadgecredential\0\x01\x00\0\0" + zlib.compress(b"a" * (MAX_CREDENTIAL_CHARS * 5))
    with pytest.raises(BakingError, match="inflates beyond"):
        extract_png(make_png(chunk(b"iTXt", body)))


def _bad_crc() -> bytes:
    png = bytearray(make_png())
    png[29] ^= 0xFF  # inside the IHDR CRC
    return bytes(png)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a....", "bad signature"),
        (b"", "bad signature"),
        (PNG_SIGNATURE, "truncated"),
        (make_png()[:-12], "missing IEND"),
        (_bad_crc(), "CRC mismatch in chunk IHDR"),
        (PNG_SIGNATURE + chunk(b"IDAT", b"x") + chunk(b"IEND", b""), "first chunk is not IHDR"),
        (PNG_SIGNATURE + struct.pack(">I", 1000) + b"IHDR" + b"x" * 10, "runs past the end"),
        (PNG_SIGNATURE + b"\0" * (MAX_IMAGE_BYTES), "larger than"),
        (make_png(chunk(b"iTXt", b"openbadgecredential\0\x02")), "truncated"),
        (make_png(chunk(b"iTXt", b"openbadgecredential\0\x02\x00\0\0x")), "compression flag"),
    ],
)
def test_png_malformed_input_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(BakingError, match=message):
        extract_png(data)


@pytest.mark.parametrize(
    ("credential", "message"),
    [
        ("", "empty"),
        ("not json", "neither JSON nor a compact JWS"),
        ("[1, 2]", "must be an object"),
        ("x" * (MAX_CREDENTIAL_CHARS + 1), "longer than"),
        (42, "must be a JSON object or a string"),
    ],
)
def test_bad_credentials_are_refused(credential: object, message: str) -> None:
    with pytest.raises(BakingError, match=message):
        bake_png(make_png(), credential)  # type: ignore[arg-type]
    with pytest.raises(BakingError, match=message):
        bake_svg(SVG, credential)  # type: ignore[arg-type]


def test_baking_error_is_a_credential_error() -> None:
    assert issubclass(BakingError, CredentialError)


@pytest.mark.parametrize(
    "svg",
    [
        SVG,
        '<svg xmlns="http://www.w3.org/2000/svg" data-x="a>b"/>',
        '<svg xmlns="http://www.w3.org/2000/svg"\n  viewBox="0 0 1 1"  >text<g/></svg>',
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="{OB_NAMESPACE}"><g/></svg>',
    ],
)
@pytest.mark.parametrize("credential", [CREDENTIAL, JWS])
def test_svg_round_trip(svg: str, credential: object) -> None:
    baked = bake_svg(svg, credential)  # type: ignore[arg-type]
    expected = (
        credential
        if isinstance(credential, str)
        else json.dumps(credential, ensure_ascii=False, separators=(",", ":"))
    )
    assert extract_svg(baked) == expected
    assert extract_svg(baked.encode()) == expected
    assert baked.count("<openbadges:credential") == 1
    assert f'xmlns:openbadges="{OB_NAMESPACE}"' in baked
    if isinstance(credential, str):
        assert f'verify="{JWS}"' in baked
    else:
        assert "<![CDATA[" in baked


def test_svg_element_is_first_child_and_rebake_replaces() -> None:
    baked = bake_svg(SVG, CREDENTIAL)
    body = baked.split("?>", 1)[1].strip()
    assert body.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="10" xmlns:openbadges=')
    assert '"><openbadges:credential><![CDATA[' in body
    again = bake_svg(baked, JWS)
    assert extract_svg(again) == JWS
    assert again.count("openbadges:credential") == 1
    assert '<circle r="4"/>' in again


def test_svg_with_other_prefix_is_read() -> None:
    svg = f'<svg xmlns="{SVG_NS}" xmlns:ob="{OB_NAMESPACE}"><g><ob:credential verify="{JWS}"/></g></svg>'
    assert extract_svg(svg) == JWS
    rebaked = bake_svg(svg, CREDENTIAL)
    assert "ob:credential" not in rebaked
    assert extract_svg(rebaked) == json.dumps(CREDENTIAL, ensure_ascii=False, separators=(",", ":"))


def test_svg_without_credential() -> None:
    assert extract_svg(SVG) is None
    # Same local name, other namespace: not a credential.
    assert extract_svg('<svg xmlns="http://www.w3.org/2000/svg"><credential verify="x.y.z"/></svg>') is None


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    '<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>'
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>'
)


@pytest.mark.parametrize(
    ("svg", "message"),
    [
        (LAUGHS, "document type or entity declaration"),
        (EXTERNAL, "document type or entity declaration"),
        (
            '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd"><svg xmlns="http://www.w3.org/2000/svg"/>',
            "document type",
        ),
        ("<svg xmlns='http://www.w3.org/2000/svg'><g></svg>", "malformed SVG: mismatched tag"),
        ("<html/>", "not an SVG image"),
        ("<svg/>", "not an SVG image"),
        ("", "malformed SVG"),
        (b"\xff\xfe<svg/>", "not UTF-8"),
        ("<svg xmlns='http://www.w3.org/2000/svg'>" + " " * MAX_IMAGE_BYTES + "</svg>", "larger than"),
        (
            f"<svg xmlns='{SVG_NS}' xmlns:o='{OB_NAMESPACE}'><o:credential>  </o:credential></svg>",
            "empty",
        ),
        (
            f"<svg xmlns='{SVG_NS}' xmlns:o='{OB_NAMESPACE}'><o:credential><o:credential/>"
            "</o:credential></svg>",
            "nests",
        ),
    ],
)
def test_svg_unsafe_or_malformed_is_refused(svg: str | bytes, message: str) -> None:
    with pytest.raises(BakingError, match=message):
        extract_svg(svg)
