"""Random bearer values of the sign-ins (session cookies, one-time links, OIDC states) and their hashes
at rest."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are 256-bit random values: a fast hash is enough (no stretching needed)."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()
