"""Client secrets and JWT access tokens (pure functions, no I/O)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from service.tenancy import scopes as scope_names

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    tenant_id: uuid.UUID
    api_client_id: uuid.UUID
    client_id: str
    scopes: frozenset[str]
    token_id: str

    def has(self, scope: str) -> bool:
        return scope_names.grants(self.scopes, scope)

    @property
    def is_admin(self) -> bool:
        return scope_names.ADMIN in self.scopes


def new_client_id() -> str:
    return "pc_" + secrets.token_hex(12)


def new_client_secret() -> str:
    return "pcs_" + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """Client secrets are 256-bit random strings, so a fast hash is enough (no stretching needed)."""
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def verify_secret(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str


def issue_access_token(
    *,
    secret: str,
    issuer: str,
    audience: str,
    ttl_seconds: int,
    tenant_id: uuid.UUID,
    api_client_id: uuid.UUID,
    client_id: str,
    scopes: list[str],
    now: datetime | None = None,
) -> IssuedToken:
    now = now or datetime.now(UTC)
    scope = " ".join(scope_names.normalize(scopes))
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": client_id,
        "cid": str(api_client_id),
        "tid": str(tenant_id),
        "scope": scope,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"typ": "at+jwt"})
    return IssuedToken(access_token=token, expires_in=ttl_seconds, scope=scope)


class TokenInvalid(Exception):
    """The token cannot be accepted; the message says why (safe to show the client)."""


def decode_access_token(token: str, *, secret: str, issuer: str, audience: str, leeway: int) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=audience,
            leeway=leeway,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "tid", "cid", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenInvalid("the access token has expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise TokenInvalid("the access token is not yet valid") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenInvalid("the access token is invalid") from exc
    try:
        tenant_id = uuid.UUID(str(claims["tid"]))
        api_client_id = uuid.UUID(str(claims["cid"]))
    except ValueError as exc:
        raise TokenInvalid("the access token is invalid") from exc
    scope = claims.get("scope", "")
    if not isinstance(scope, str):
        raise TokenInvalid("the access token is invalid")
    return Principal(
        tenant_id=tenant_id,
        api_client_id=api_client_id,
        client_id=str(claims["sub"]),
        scopes=frozenset(scope_names.parse(scope)),
        token_id=str(claims["jti"]),
    )


# Verified tokens: the exact token string (with the secret, issuer and audience that verified it) ->
# its principal and expiry. The HMAC check and claim parsing are then paid once per token, not once per
# request; expiry is still checked on every use, and the client's status and scopes are re-read (or
# taken from service.hotcache, which drops them on any change) by TenancyService.authenticate.
_verified: dict[tuple[str, str, str, str], tuple[Principal, float]] = {}
_VERIFIED_MAX = 4096


def decode_access_token_cached(
    token: str, *, secret: str, issuer: str, audience: str, leeway: int
) -> Principal:
    """:func:`decode_access_token`, remembered for the token's lifetime."""
    key = (token, secret, issuer, audience)
    found = _verified.get(key)
    now = time.time()
    if found is not None and now <= found[1] + leeway:
        return found[0]
    principal = decode_access_token(token, secret=secret, issuer=issuer, audience=audience, leeway=leeway)
    expires = jwt.decode(token, options={"verify_signature": False}).get("exp")
    if isinstance(expires, int | float):
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        _verified[key] = (principal, float(expires))
    return principal
