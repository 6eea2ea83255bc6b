"""A credential inside a PDF an applicant sends (pure, bounded).

PDFs carry a credential in two ways that we read: an attached file (an embedded file stream, usually
Flate-compressed) holding the credential's JSON or compact JWS, or a link annotation (``/URI``) to the
credential's public URL. Streams are inflated with an output bound, so a compression bomb costs at most
``MAX_INFLATED_BYTES`` per stream and ``MAX_STREAMS`` streams are looked at.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from service.credentials.vc_jwt import looks_like_jwt

MAX_STREAMS = 256
MAX_INFLATED_BYTES = 2 * 1024 * 1024
_STREAM = re.compile(rb"<<(?P<dict>(?:(?!>>\s*stream).){0,4096}?)>>\s*stream\r?\n", re.S)
_URI = re.compile(rb"/URI\s*\((?P<uri>https?://[^)\s]{1,2048})\)")
_JWS = re.compile(rb"[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")


class PdfError(ValueError):
    """The PDF cannot be read."""


@dataclass(frozen=True)
class PdfFinding:
    #: "credential" (text is JSON or a compact JWS) or "url" (text is a link to the credential)
    kind: str
    text: str


def _inflate(data: bytes) -> bytes | None:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_INFLATED_BYTES)
    except zlib.error:
        return None
    return out


def _credential_in(content: bytes) -> str | None:
    stripped = content.strip()
    if stripped.startswith(b"{") and b"@context" in stripped[:4096] and b"credentialSubject" in stripped:
        try:
            return stripped.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if len(stripped) < 64 * 1024:
        match = _JWS.fullmatch(stripped)
        if match is not None:
            token = match.group(0).decode("ascii")
            if looks_like_jwt(token):
                return token
    return None


def is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(b"%PDF-")


def find_credential(data: bytes) -> PdfFinding | None:
    """The first credential attached to the PDF, else the first link to a credential, else None."""
    if not is_pdf(data):
        raise PdfError("not a PDF (no %PDF- header)")
    links: list[str] = []
    for count, match in enumerate(_STREAM.finditer(data)):
        if count >= MAX_STREAMS:
            break
        start = match.end()
        end = data.find(b"endstream", start)
        if end < 0:
            break
        raw = data[start:end].rstrip(b"\r\n")
        content = _inflate(raw) if b"/FlateDecode" in match.group("dict") else raw
        if content is None:
            continue
        found = _credential_in(content)
        if found is not None:
            return PdfFinding("credential", found)
        links += [m.group("uri").decode("ascii") for m in _URI.finditer(content)]
    links += [m.group("uri").decode("ascii") for m in _URI.finditer(data)]
    credential_links = [link for link in links if "/credentials/" in link] or links
    return PdfFinding("url", credential_links[0]) if credential_links else None
