"""Badge artwork generated from the achievement's name, when the district gave no image of its own.

Pure and deterministic: an SVG with the name (XML-escaped) and a PNG (a coloured disc on a transparent
square) whose colour is derived from the name. The PNG encoder is the minimal one PNG needs (IHDR, IDAT,
IEND), so no imaging library is involved.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import struct
import textwrap
import zlib
from xml.sax.saxutils import escape

PNG_SIZE = 256


def _colour(seed: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    # Mid-range channels: readable white text on every colour.
    return 40 + digest[0] % 120, 40 + digest[1] % 120, 40 + digest[2] % 120


def badge_svg(name: str) -> str:
    """A round badge with the (wrapped, escaped) name: a complete SVG document."""
    r, g, b = _colour(name)
    lines = textwrap.wrap(name, width=18)[:4] or [""]
    start = 128 - (len(lines) - 1) * 11
    text = "".join(
        f'<text x="128" y="{start + i * 22}" text-anchor="middle" font-family="sans-serif" '
        f'font-size="18" fill="#ffffff">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">'
        f"<title>{escape(name)}</title>"
        f'<circle cx="128" cy="128" r="120" fill="rgb({r},{g},{b})"/>'
        '<circle cx="128" cy="128" r="106" fill="none" stroke="#ffffff" stroke-width="4"/>'
        f"{text}</svg>"
    )


@functools.lru_cache(maxsize=1024)
def badge_svg_data_uri(name: str) -> str:
    """The fallback badge image as a data: URI (cached: every credential of a badge carries the same)."""
    return "data:image/svg+xml;base64," + base64.b64encode(badge_svg(name).encode("utf-8")).decode("ascii")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def badge_png(name: str, size: int = PNG_SIZE) -> bytes:
    """A ``size`` x ``size`` RGBA PNG: a disc in the name's colour."""
    r, g, b = _colour(name)
    centre, radius2 = (size - 1) / 2, (size * 0.47) ** 2
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # filter type None
        dy2 = (y - centre) ** 2
        for x in range(size):
            inside = (x - centre) ** 2 + dy2 <= radius2
            rows.extend((r, g, b, 255) if inside else (0, 0, 0, 0))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )
