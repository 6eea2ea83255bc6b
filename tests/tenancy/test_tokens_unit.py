"""Pure token and scope logic (no I/O), table-driven."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from service.tenancy import scopes
from service.tenancy.tokens import (
    TokenInvalid,
    decode_access_token,
    hash_secret,
    issue_access_token,
    verify_secret,
)

SECRET = "s" * 48
KW = {"secret": SECRET, "issuer": "portrait", "audience": "portrait-api"}


@pytest.mark.parametrize(
    ("held", "required", "expected"),
    [
        (["roster:read"], "roster:read", True),
        (["roster:write"], "roster:read", True),
        (["roster:read"], "roster:write", False),
        (["evidence:write"], "roster:read", False),
        (["admin"], "roster:read", False),
        (["admin"], "admin", True),
        ([], "roster:read", False),
    ],
)
def test_grants(held: list[str], required: str, expected: bool) -> None:
    assert scopes.grants(held, required) is expected


def test_scope_names_follow_the_area_pattern() -> None:
    for area in (
        "tenants",
        "frameworks",
        "roster",
        "evidence",
        "awards",
        "credentials",
        "transcripts",
        "sync",
        "webhooks",
    ):
        assert f"{area}:read" in scopes.ALL_SCOPES
        assert f"{area}:write" in scopes.ALL_SCOPES
    assert "admin" in scopes.ALL_SCOPES
    assert scopes.unknown_scopes(["roster:read", "roster:delete", "x"]) == ["roster:delete", "x"]
    assert scopes.normalize(["admin", "roster:read", "roster:read"]) == ["roster:read", "admin"]


def test_secret_hash_round_trip() -> None:
    stored = hash_secret("pcs_abc")
    assert stored.startswith("sha256$") and "pcs_abc" not in stored
    assert verify_secret("pcs_abc", stored)
    assert not verify_secret("pcs_abd", stored)


def _issue(now: datetime, ttl: int = 900) -> str:
    return issue_access_token(
        **KW,
        ttl_seconds=ttl,
        tenant_id=uuid.UUID(int=1),
        api_client_id=uuid.UUID(int=2),
        client_id="pc_x",
        scopes=["roster:read", "admin"],
        now=now,
    ).access_token


def test_token_round_trip_carries_tenant_and_scopes() -> None:
    principal = decode_access_token(_issue(datetime.now(UTC)), **KW, leeway=0)
    assert principal.tenant_id == uuid.UUID(int=1)
    assert principal.api_client_id == uuid.UUID(int=2)
    assert principal.scopes == frozenset({"roster:read", "admin"})
    assert principal.is_admin


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: _issue(datetime.now(UTC) - timedelta(hours=1)), "expired"),
        (lambda t: _issue(datetime.now(UTC) + timedelta(hours=1)), "not yet valid"),
        (lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"), "invalid"),
        (lambda t: "not-a-jwt", "invalid"),
        (
            lambda t: jwt.encode({"sub": "x", "tid": "1", "exp": 9999999999}, SECRET, algorithm="HS256"),
            "invalid",
        ),
        (
            lambda t: jwt.encode(
                jwt.decode(t, options={"verify_signature": False}), "other" * 10, algorithm="HS256"
            ),
            "invalid",
        ),
        (
            lambda t: jwt.encode(jwt.decode(t, options={"verify_signature": False}), None, algorithm="none"),
            "invalid",
        ),
    ],
    ids=["expired", "future", "bad-signature", "garbage", "missing-claims", "wrong-key", "alg-none"],
)
def test_bad_tokens_are_rejected(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    token = mutate(_issue(datetime.now(UTC)))
    with pytest.raises(TokenInvalid, match=message):
        decode_access_token(token, **KW, leeway=0)


def test_wrong_audience_is_rejected() -> None:
    token = _issue(datetime.now(UTC))
    with pytest.raises(TokenInvalid):
        decode_access_token(token, secret=SECRET, issuer="portrait", audience="other", leeway=0)
