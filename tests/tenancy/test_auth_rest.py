"""OAuth token endpoint, bearer authentication and scope checks over REST."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.tenancy.tokens import issue_access_token
from tests.factories import Actors, make_client, make_tenant


async def test_token_with_http_basic(
    http: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    tenant = await make_tenant(session, settings)
    cid, secret = await make_client(session, settings, tenant, ["roster:read", "evidence:write"])
    response = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.auth.token_ttl_seconds
    assert body["scope"] == "roster:read evidence:write"
    assert response.headers["cache-control"] == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["tid"] == str(tenant.id)
    assert claims["sub"] == cid
    assert claims["exp"] - claims["iat"] == settings.auth.token_ttl_seconds


async def test_token_with_form_credentials_and_scope_subset(
    http: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    tenant = await make_tenant(session, settings)
    cid, secret = await make_client(session, settings, tenant, ["roster:read", "roster:write"])
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": cid,
            "client_secret": secret,
            "scope": "roster:read",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "roster:read"
    token = response.json()["access_token"]
    write = await http.post(
        "/api/v1/learners",
        json={"given_name": "A", "family_name": "B"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert write.status_code == 403
    assert write.json()["code"] == "insufficient_scope"


@pytest.mark.parametrize(
    ("data", "auth", "status", "error"),
    [
        ({"grant_type": "password"}, "good", 400, "unsupported_grant_type"),
        ({}, "good", 400, "invalid_request"),
        ({"grant_type": "client_credentials"}, "wrong-secret", 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, "unknown-client", 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, "garbled-basic", 401, "invalid_client"),
        ({"grant_type": "client_credentials", "scope": "admin"}, "good", 400, "invalid_scope"),
        ({"grant_type": "client_credentials", "scope": "roster:nope"}, "good", 400, "invalid_scope"),
    ],
)
async def test_token_errors_follow_rfc6749(
    http: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    data: dict[str, str],
    auth: str | None,
    status: int,
    error: str,
) -> None:
    tenant = await make_tenant(session, settings)
    cid, secret = await make_client(session, settings, tenant, ["roster:read"])
    headers: dict[str, str] = {}
    if auth == "good":
        headers["Authorization"] = "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()
    elif auth == "wrong-secret":
        headers["Authorization"] = "Basic " + base64.b64encode(f"{cid}:{secret}x".encode()).decode()
    elif auth == "unknown-client":
        headers["Authorization"] = "Basic " + base64.b64encode(f"pc_nope:{secret}".encode()).decode()
    elif auth == "garbled-basic":
        headers["Authorization"] = "Basic !!!notbase64"
    response = await http.post("/oauth/token", data=data, headers=headers)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["status"] == status and body["detail"]
    if status == 401:
        assert "www-authenticate" in response.headers


async def test_token_requires_form_encoding(http: httpx.AsyncClient) -> None:
    response = await http.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_disabled_client_and_tenant_cannot_get_or_use_tokens(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    admin = await actors.a.headers("admin")
    reader = await actors.a.headers("roster:read")
    assert (await http.get("/api/v1/learners", headers=reader)).status_code == 200
    # Disable district A: its existing tokens stop working at once.
    patched = await http.patch(
        f"/api/v1/tenants/{actors.a.tenant.id}", json={"status": "inactive"}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    denied = await http.get("/api/v1/learners", headers=reader)
    assert denied.status_code == 401
    assert denied.json()["code"] == "unauthorized"


async def test_disabling_a_client_revokes_its_tokens(http: httpx.AsyncClient, actors: Actors) -> None:
    manager = await actors.a.headers("tenants:write", "roster:read")
    created = await http.post(
        "/api/v1/clients", json={"name": "lms", "scopes": ["roster:read"]}, headers=manager
    )
    assert created.status_code == 201, created.text
    body = created.json()
    token = (
        await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(body["client_id"], body["client_secret"]),
        )
    ).json()["access_token"]
    lms = {"Authorization": f"Bearer {token}"}
    assert (await http.get("/api/v1/learners", headers=lms)).status_code == 200
    disabled = await http.patch(f"/api/v1/clients/{body['id']}", json={"status": "inactive"}, headers=manager)
    assert disabled.status_code == 200
    assert (await http.get("/api/v1/learners", headers=lms)).status_code == 401
    again = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(body["client_id"], body["client_secret"]),
    )
    assert again.status_code == 401


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer ", "Basic abc", "Token abc", "Bearer not.a.jwt"],
)
async def test_missing_or_malformed_bearer_is_401_problem(
    http: httpx.AsyncClient, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = await http.get("/api/v1/learners", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


async def test_expired_token_is_401(http: httpx.AsyncClient, actors: Actors, settings: Settings) -> None:
    await actors.a.headers("roster:read")  # makes sure a real client exists
    token = issue_access_token(
        secret=settings.token_secret_value(),
        issuer=settings.auth.token_issuer,
        audience=settings.auth.token_audience,
        ttl_seconds=60,
        tenant_id=actors.a.tenant.id,
        api_client_id=uuid.uuid4(),
        client_id="pc_x",
        scopes=["roster:read"],
        now=datetime.now(UTC) - timedelta(hours=2),
    ).access_token
    response = await http.get("/api/v1/learners", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_token_signed_with_another_secret_is_401(http: httpx.AsyncClient, settings: Settings) -> None:
    token = issue_access_token(
        secret="x" * 48,
        issuer=settings.auth.token_issuer,
        audience=settings.auth.token_audience,
        ttl_seconds=60,
        tenant_id=uuid.uuid4(),
        api_client_id=uuid.uuid4(),
        client_id="pc_x",
        scopes=["roster:read", "admin"],
    ).access_token
    response = await http.get("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/api/v1/learners", "roster:read"),
        ("POST", "/api/v1/learners", "roster:write"),
        ("GET", "/api/v1/classes", "roster:read"),
        ("POST", "/api/v1/classes", "roster:write"),
        ("GET", "/api/v1/orgs", "roster:read"),
        ("GET", "/api/v1/tenants", "tenants:read"),
        ("POST", "/api/v1/tenants", "tenants:write"),
        ("GET", "/api/v1/clients", "tenants:read"),
    ],
)
async def test_every_route_checks_its_scope(
    http: httpx.AsyncClient, actors: Actors, method: str, path: str, scope: str
) -> None:
    wrong = await actors.a.headers("evidence:read", "credentials:write")
    response = await http.request(method, path, headers=wrong, json={})
    assert response.status_code == 403, response.text
    assert scope in response.json()["detail"]


async def test_write_scope_implies_read(http: httpx.AsyncClient, actors: Actors) -> None:
    response = await http.get("/api/v1/learners", headers=await actors.a.headers("roster:write"))
    assert response.status_code == 200
