"""Every URL inside a credential that points at the service, for the live-links tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
JSON_LD = "application/ld+json, application/json;q=0.9"


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def own_urls(credential: dict[str, Any], public_url: str) -> list[str]:
    """The service's own URLs in the credential (fragments dropped), and the issuer's did:web document."""
    prefix = public_url.rstrip("/") + "/"
    found: dict[str, None] = {}
    body = {key: value for key, value in credential.items() if key != "@context"}
    for text in strings(body):
        if text.startswith(prefix):
            found[text.split("#", 1)[0]] = None
        elif text.startswith("did:web:"):
            slug = text.split("#", 1)[0].rsplit(":", 1)[1]
            found[f"{prefix}issuers/{slug}/did.json"] = None
    return list(found)
