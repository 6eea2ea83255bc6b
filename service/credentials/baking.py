"""Baked badge images (Open Badges 3.0, section "Baking"): a credential carried inside a PNG or SVG.

Pure functions, no I/O:

* PNG: an ``iTXt`` chunk with the keyword ``openbadgecredential`` whose text is the credential, either
  its JSON or a compact JWS (VC-JWT). Baking replaces an existing credential chunk; the chunk goes right
  after ``IHDR`` so that streaming readers meet it early. Every chunk's CRC is checked on the way in and
  computed on the way out.
* SVG: an ``openbadges:credential`` element in the ``https://purl.imsglobal.org/ob/v3p0`` namespace,
  first child of the root ``svg`` element; a JWS goes in its ``verify`` attribute, JSON in a CDATA section.

Inputs are bounded (:data:`MAX_IMAGE_BYTES`, :data:`MAX_CREDENTIAL_CHARS`) and the SVG parser refuses
document type declarations, so no entity is ever expanded (no "billion laughs", no external entities).
Every problem raises :class:`~service.credentials.errors.BakingError` with a readable message.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

from service.credentials.errors import BakingError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_KEYWORD = b"openbadgecredential"
OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"

MAX_IMAGE_BYTES = 8 * 1024 * 1024
"""Largest PNG (bytes) or SVG (UTF-8 bytes) accepted for baking or extraction."""
MAX_CREDENTIAL_CHARS = 1024 * 1024
"""Largest credential text (JSON or JWS) baked or extracted; also bounds zlib expansion of iTXt."""
MAX_PNG_CHUNKS = 100_000

_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$")


def credential_text(credential: str | Mapping[str, Any]) -> str:
    """The text to bake: compact JSON for an object, the string itself (JSON or JWS) otherwise."""
    if isinstance(credential, Mapping):
        text = json.dumps(credential, ensure_ascii=False, separators=(",", ":"))
    elif isinstance(credential, str):
        text = credential.strip()
    else:
        raise BakingError("the credential must be a JSON object or a string (JSON or compact JWS)")
    if not text:
        raise BakingError("the credential is empty")
    if len(text) > MAX_CREDENTIAL_CHARS:
        raise BakingError(f"the credential is longer than {MAX_CREDENTIAL_CHARS} characters")
    if not is_jws(text):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise BakingError("the credential is neither JSON nor a compact JWS") from exc
        if not isinstance(value, dict):
            raise BakingError("the credential JSON must be an object")
    return text


def is_jws(text: str) -> bool:
    """True when ``text`` has the shape of a compact JWS (three base64url parts)."""
    return bool(_JWS.match(text))


# --- PNG ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    kind: bytes
    data: bytes
    start: int  # offset of the length field
    end: int  # offset just past the CRC


def _png_chunks(png: bytes) -> list[_Chunk]:
    if not isinstance(png, bytes | bytearray):
        raise BakingError("the PNG image must be bytes")
    if len(png) > MAX_IMAGE_BYTES:
        raise BakingError(f"the PNG image is larger than {MAX_IMAGE_BYTES} bytes")
    if not png.startswith(PNG_SIGNATURE):
        raise BakingError("not a PNG image (bad signature)")
    chunks: list[_Chunk] = []
    offset = len(PNG_SIGNATURE)
    while True:
        if len(chunks) >= MAX_PNG_CHUNKS:
            raise BakingError(f"the PNG image has more than {MAX_PNG_CHUNKS} chunks")
        if offset + 12 > len(png):
            raise BakingError("malformed PNG: truncated chunk header or missing IEND")
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = bytes(png[offset + 4 : offset + 8])
        if not kind.isalpha():
            raise BakingError(f"malformed PNG: invalid chunk type at byte {offset + 4}")
        end = offset + 12 + length
        if length > 0x7FFFFFFF or end > len(png):
            raise BakingError(f"malformed PNG: chunk {kind.decode('ascii')} runs past the end of the file")
        data = bytes(png[offset + 8 : offset + 8 + length])
        (crc,) = struct.unpack(">I", png[end - 4 : end])
        if zlib.crc32(kind + data) != crc:
            raise BakingError(f"malformed PNG: CRC mismatch in chunk {kind.decode('ascii')}")
        chunks.append(_Chunk(kind, data, offset, end))
        offset = end
        if kind == b"IEND":
            break
    if chunks[0].kind != b"IHDR":
        raise BakingError("malformed PNG: the first chunk is not IHDR")
    return chunks


def _chunk_bytes(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _itxt_keyword(data: bytes) -> bytes:
    return data.split(b"\0", 1)[0]


def _itxt_text(data: bytes) -> str:
    """Decode an iTXt chunk body: keyword, compression flag/method, language, translated keyword, text."""
    try:
        _keyword, rest = data.split(b"\0", 1)
        flag, method = rest[0], rest[1]
        _language, rest = rest[2:].split(b"\0", 1)
        _translated, text = rest.split(b"\0", 1)
    except (ValueError, IndexError) as exc:
        raise BakingError("malformed PNG: the openbadgecredential iTXt chunk is truncated") from exc
    if flag == 1:
        if method != 0:
            raise BakingError(f"malformed PNG: unknown iTXt compression method {method}")
        inflater = zlib.decompressobj()
        try:
            # Bound the expansion: a few KB of deflate can inflate to gigabytes.
            limit = MAX_CREDENTIAL_CHARS * 4
            text = inflater.decompress(text, limit + 1)
        except zlib.error as exc:
            raise BakingError("malformed PNG: the compressed iTXt text does not inflate") from exc
        if len(text) > limit or inflater.unconsumed_tail:
            raise BakingError(f"the baked credential inflates beyond {limit} bytes")
    elif flag != 0:
        raise BakingError(f"malformed PNG: invalid iTXt compression flag {flag}")
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BakingError("the baked credential is not UTF-8 text") from exc
    if len(decoded) > MAX_CREDENTIAL_CHARS:
        raise BakingError(f"the baked credential is longer than {MAX_CREDENTIAL_CHARS} characters")
    return decoded


def bake_png(png: bytes, credential: str | Mapping[str, Any]) -> bytes:
    """Return ``png`` with the credential in an ``openbadgecredential`` iTXt chunk (replacing any old one).

    ``credential`` is a JSON object, JSON text or a compact JWS. Raises :class:`BakingError` for an image
    that is not a well-formed PNG (signature, chunk lengths, CRCs, IHDR first, IEND) or too large.
    """
    text = credential_text(credential)
    chunks = _png_chunks(png)
    body = PNG_KEYWORD + b"\0" + b"\0\0" + b"\0" + b"\0" + text.encode("utf-8")
    out = bytearray(PNG_SIGNATURE)
    for chunk in chunks:
        if chunk.kind == b"iTXt" and _itxt_keyword(chunk.data) == PNG_KEYWORD:
            continue
        out += png[chunk.start : chunk.end]
        if chunk.kind == b"IHDR":
            out += _chunk_bytes(b"iTXt", body)
    return bytes(out)


def extract_png(data: bytes) -> str | None:
    """The credential text baked into a PNG, or ``None`` when the image carries none.

    Raises :class:`BakingError` when ``data`` is not a well-formed PNG or the chunk is malformed.
    """
    for chunk in _png_chunks(data):
        if chunk.kind == b"iTXt" and _itxt_keyword(chunk.data) == PNG_KEYWORD:
            return _itxt_text(chunk.data).strip()
    return None


# --- SVG ----------------------------------------------------------------------------------------------


@dataclass
class _SvgScan:
    root_name: str | None = None
    root_start: int = -1
    credential_start: int = -1
    credential_end: int = -1
    credential_text: str | None = None
    verify_attr: str | None = None


def _refuse(*_args: object) -> None:
    raise BakingError("the SVG contains a document type or entity declaration, which is not accepted")


def _scan_svg(raw: bytes) -> _SvgScan:
    """One pass of expat over ``raw`` (UTF-8) recording the root and the first credential element."""
    scan = _SvgScan()
    parser = expat.ParserCreate(encoding="utf-8", namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse  # type: ignore[assignment]
    depth = 0
    inside = 0  # depth of the credential element being read, 0 when outside
    chunks: list[str] = []
    raw_name = b""

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth, inside, raw_name
        depth += 1
        here = parser.CurrentByteIndex
        if depth == 1:
            scan.root_name = name
            scan.root_start = here
        if name == f"{OB_NAMESPACE} credential":
            if inside:
                raise BakingError("the SVG nests one openbadges:credential element inside another")
            if scan.credential_start < 0:
                inside = depth
                scan.credential_start = here
                scan.verify_attr = attrs.get("verify")
                match = re.match(rb"<([^\s/>]+)", raw[here:])
                raw_name = match.group(1) if match else b""

    def end(name: str) -> None:
        nonlocal depth, inside
        here = parser.CurrentByteIndex
        if inside and depth == inside:
            closing = b"</" + raw_name
            if raw[here : here + len(closing)] == closing and raw[
                here + len(closing) : here + len(closing) + 1
            ] in (
                b">",
                b" ",
                b"\t",
                b"\n",
                b"\r",
            ):
                scan.credential_end = raw.index(b">", here) + 1
            else:  # an empty-element tag: the index is already past it
                scan.credential_end = here
            scan.credential_text = "".join(chunks)
            inside = 0
        depth -= 1

    def text(data: str) -> None:
        if inside and depth == inside:
            chunks.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as exc:
        raise BakingError(f"malformed SVG: {expat.errors.messages[exc.code]} at line {exc.lineno}") from exc
    if scan.root_name != f"{SVG_NAMESPACE} svg":
        raise BakingError("not an SVG image: the root element is not svg in the SVG namespace")
    return scan


def _svg_bytes(svg: str | bytes) -> bytes:
    if isinstance(svg, bytes | bytearray):
        raw = bytes(svg)
        if len(raw) > MAX_IMAGE_BYTES:
            raise BakingError(f"the SVG image is larger than {MAX_IMAGE_BYTES} bytes")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BakingError("the SVG image is not UTF-8 text") from exc
        return raw.removeprefix(b"\xef\xbb\xbf")
    if not isinstance(svg, str):
        raise BakingError("the SVG image must be text")
    if len(svg) > MAX_IMAGE_BYTES:
        raise BakingError(f"the SVG image is larger than {MAX_IMAGE_BYTES} bytes")
    raw = svg.encode("utf-8")
    if len(raw) > MAX_IMAGE_BYTES:
        raise BakingError(f"the SVG image is larger than {MAX_IMAGE_BYTES} bytes")
    return raw.removeprefix(b"\xef\xbb\xbf")


def _root_tag_end(raw: bytes, root_start: int) -> int:
    """Offset just past the root's start tag (quotes in attribute values may hold ``>``)."""
    position = root_start + 1
    quote: int | None = None
    while position < len(raw):
        char = raw[position]
        if quote is not None:
            if char == quote:
                quote = None
        elif char in (0x22, 0x27):
            quote = char
        elif char == 0x3E:
            return position + 1
        position += 1
    raise BakingError("malformed SVG: the svg start tag does not end")


def _quote_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def bake_svg(svg: str | bytes, credential: str | Mapping[str, Any]) -> str:
    """Return ``svg`` with an ``openbadges:credential`` element as the root's first child.

    A compact JWS goes in the ``verify`` attribute, JSON in a CDATA section; an existing credential
    element is removed first. The ``xmlns:openbadges`` declaration is added to the root ``svg`` element.
    Raises :class:`BakingError` for input that is not a well-formed SVG, uses a DOCTYPE or entity
    declarations, or is too large.
    """
    text = credential_text(credential)
    raw = _svg_bytes(svg)
    scan = _scan_svg(raw)
    if scan.credential_start >= 0:
        raw = raw[: scan.credential_start] + raw[scan.credential_end :]
    tag_end = _root_tag_end(raw, scan.root_start)
    start_tag = raw[scan.root_start : tag_end]
    empty = start_tag.endswith(b"/>")
    head = start_tag[:-2] if empty else start_tag[:-1]
    local = ""
    if b"xmlns:openbadges" in head:
        local = f' xmlns:openbadges="{OB_NAMESPACE}"'  # keep whatever the root says; declare it here too
    else:
        head = head.rstrip() + f' xmlns:openbadges="{OB_NAMESPACE}"'.encode()
    if is_jws(text):
        element = f'<openbadges:credential{local} verify="{_quote_attr(text)}"/>'
    else:
        cdata = text.replace("]]>", "]]]]><![CDATA[>")
        element = f"<openbadges:credential{local}><![CDATA[{cdata}]]></openbadges:credential>"
    closing = b""
    if empty:
        name = re.match(rb"<([^\s/>]+)", start_tag)
        if name is None:  # pragma: no cover - expat accepted the tag, so it has a name
            raise BakingError("malformed SVG: the svg start tag has no name")
        closing = b"</" + name.group(1) + b">"
    out = raw[: scan.root_start] + head + b">" + element.encode("utf-8") + closing + raw[tag_end:]
    if len(out) > MAX_IMAGE_BYTES + MAX_CREDENTIAL_CHARS * 6:
        raise BakingError("the baked SVG would be too large")
    return out.decode("utf-8")


def extract_svg(text: str | bytes) -> str | None:
    """The credential baked into an SVG (``verify`` attribute or element text), or ``None``.

    Raises :class:`BakingError` for input that is not a well-formed, declaration-free SVG.
    """
    scan = _scan_svg(_svg_bytes(text))
    if scan.credential_start < 0:
        return None
    value = scan.verify_attr if scan.verify_attr is not None else (scan.credential_text or "")
    value = value.strip()
    if not value:
        raise BakingError("the openbadges:credential element is empty")
    if len(value) > MAX_CREDENTIAL_CHARS:
        raise BakingError(f"the baked credential is longer than {MAX_CREDENTIAL_CHARS} characters")
    return value
