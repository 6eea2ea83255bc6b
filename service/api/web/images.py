"""Which image sources a page may show: https URLs of public hosts, the service's own URLs and
``data:`` images of a raster or SVG type. Anything else (``http:``, ``javascript:``, an intranet host
or a private address) is dropped, so that a credential cannot turn its viewers' browsers into
tracking pixels or intranet probes. The page CSP (``img-src 'self' data: https:``) matches."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from service.net import forbidden_reason

DATA_IMAGE_PREFIXES = (
    "data:image/png",
    "data:image/svg+xml",
    "data:image/jpeg",
    "data:image/gif",
    "data:image/webp",
)
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".corp", ".intranet")


def public_https_host(host: str) -> bool:
    """True for a DNS name that looks public or a public IP literal (no resolution: the browser resolves)."""
    host = host.strip("[]").lower().rstrip(".")
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host and host != "localhost" and not host.endswith(_LOCAL_SUFFIXES)
    return forbidden_reason(address) is None


def safe_image_src(value: Any, *, own_url: str | None = None) -> str | None:
    """``value`` when a page may use it as an ``<img src>``, else None."""
    if isinstance(value, dict):
        value = value.get("id")
    if not isinstance(value, str):
        return None
    src = value.strip()
    lowered = src.lower()
    if lowered.startswith(DATA_IMAGE_PREFIXES):
        return src
    if own_url and src.startswith(own_url.rstrip("/") + "/"):
        return src
    try:
        parts = urlsplit(src)
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or parts.username or parts.password:
        return None
    return src if public_https_host(parts.hostname or "") else None
