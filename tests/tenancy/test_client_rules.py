"""Client administration and token rules (issue 11): no client may disarm the administrator; a
token's scopes, status and tenant are its client's as they are now."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from service.config import Settings
from service.tenancy.tokens import issue_access_token
from tests.factories import Actors, fetch_token, make_client


async def _client_id(http: httpx.AsyncClient, headers: dict[str, str]) -> str:
    me = await http.post("/graphql", json={"query": "{ me { clientId } }"}, headers=headers)
    client_id = me.json()["data"]["me"]["clientId"]
    listed = await http.get("/api/v1/clients", params={"limit": 200}, headers=headers)
    if listed.status_code != 200:
        raise AssertionError(listed.text)
    return str(next(c["id"] for c in listed.json()["items"] if c["client_id"] == client_id))


async def test_tenants_write_cannot_demote_or_disable_an_admin_client(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    admin = await actors.a.headers("admin")
    manager = await actors.a.headers("tenants:write", "roster:read", "tenants:read")
    admin_id = await _client_id(http, admin)
    demote = await http.patch(
        f"/api/v1/clients/{admin_id}", json={"scopes": ["roster:read"]}, headers=manager
    )
    assert demote.status_code == 403, demote.text
    assert "only an admin client" in demote.json()["detail"]
    disable = await http.patch(f"/api/v1/clients/{admin_id}", json={"status": "inactive"}, headers=manager)
    assert disable.status_code == 403
    mutation = "mutation($id: UUID!) { updateApiClient(id: $id, input: {status: INACTIVE}) { status } }"
    answer = await http.post(
        "/graphql", json={"query": mutation, "variables": {"id": admin_id}}, headers=manager
    )
    assert answer.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    still = await http.get(f"/api/v1/clients/{admin_id}", headers=admin)
    assert still.json()["status"] == "active" and "admin" in still.json()["scopes"]


async def test_changing_a_client_needs_every_scope_it_holds(http: httpx.AsyncClient, actors: Actors) -> None:
    manager = await actors.a.headers("tenants:write", "roster:write")
    stronger = await http.post(
        "/api/v1/clients",
        json={"name": "x", "scopes": ["evidence:write"]},
        headers=await actors.a.headers("admin"),
    )
    weaker = await http.post(
        "/api/v1/clients", json={"name": "y", "scopes": ["roster:read"]}, headers=manager
    )
    refused = await http.patch(
        f"/api/v1/clients/{stronger.json()['id']}", json={"status": "inactive"}, headers=manager
    )
    assert refused.status_code == 403
    assert "evidence:write" in refused.json()["detail"]
    allowed = await http.patch(
        f"/api/v1/clients/{weaker.json()['id']}", json={"status": "inactive"}, headers=manager
    )
    assert allowed.status_code == 200, allowed.text


async def test_the_last_active_admin_client_stays(http: httpx.AsyncClient, actors: Actors) -> None:
    admin = await actors.a.headers("admin")
    own = await _client_id(http, admin)
    # Leave this client the only active admin of the database.
    listed = (await http.get("/api/v1/clients", params={"limit": 200}, headers=admin)).json()["items"]
    for other in listed:
        if other["id"] != own and "admin" in other["scopes"] and other["status"] == "active":
            done = await http.patch(
                f"/api/v1/clients/{other['id']}", json={"status": "inactive"}, headers=admin
            )
            assert done.status_code == 200
    for change in ({"status": "inactive"}, {"scopes": ["tenants:read"]}):
        refused = await http.patch(f"/api/v1/clients/{own}", json=change, headers=admin)
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "last_admin_client"
    second = await http.post("/api/v1/clients", json={"name": "second", "scopes": ["admin"]}, headers=admin)
    assert second.status_code == 201
    assert (
        await http.patch(f"/api/v1/clients/{own}", json={"status": "inactive"}, headers=admin)
    ).status_code == 200


async def test_token_scopes_follow_the_client_at_once(http: httpx.AsyncClient, actors: Actors) -> None:
    admin = await actors.a.headers("admin")
    reader = await actors.a.headers("roster:read", "tenants:read")
    assert (await http.get("/api/v1/learners", headers=reader)).status_code == 200
    reader_id = await _client_id(http, reader)
    cut = await http.patch(f"/api/v1/clients/{reader_id}", json={"scopes": ["tenants:read"]}, headers=admin)
    assert cut.status_code == 200
    after = await http.get("/api/v1/learners", headers=reader)
    assert after.status_code == 403, after.text


async def test_a_token_whose_tenant_is_not_its_clients_is_refused(
    http: httpx.AsyncClient, actors: Actors, settings: Settings
) -> None:
    reader = await actors.a.headers("roster:read", "tenants:read")
    client_id = await _client_id(http, reader)
    forged = issue_access_token(
        secret=settings.token_secret_value(),
        issuer=settings.auth.token_issuer,
        audience=settings.auth.token_audience,
        ttl_seconds=60,
        tenant_id=actors.b.tenant.id,
        api_client_id=uuid.UUID(client_id),
        client_id="pc_forged",
        scopes=["roster:read"],
    ).access_token
    answer = await http.get("/api/v1/learners", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401
    assert "tenant" in answer.json()["detail"]


async def test_write_implies_read_when_asking_for_a_token(
    http: httpx.AsyncClient, actors: Actors, settings: Settings
) -> None:
    cid, secret = await make_client(actors.a.session, settings, actors.a.tenant, ["roster:write"])
    token = await fetch_token(http, cid, secret, scope="roster:read")
    assert (
        await http.get("/api/v1/learners", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 200


async def test_the_token_endpoint_is_throttled_per_client_and_ip(
    http: httpx.AsyncClient, actors: Actors, app: FastAPI, settings: Settings
) -> None:
    cid, secret = await make_client(actors.a.session, settings, actors.a.tenant, ["roster:read"])
    app.state.settings = settings.model_copy(
        update={"auth": settings.auth.model_copy(update={"token_rate_burst": 3, "token_rate_per_minute": 1})}
    )
    form = {"grant_type": "client_credentials"}
    answers = [
        (await http.post("/oauth/token", data=form, auth=(cid, "wrong"))).status_code for _ in range(4)
    ]
    assert answers == [401, 401, 401, 429]
    throttled = await http.post("/oauth/token", data=form, auth=(cid, secret))
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
    # Another client from the same IP is throttled too (the IP's bucket is empty).
    other, other_secret = await make_client(actors.a.session, settings, actors.a.tenant, ["roster:read"])
    assert (await http.post("/oauth/token", data=form, auth=(other, other_secret))).status_code == 429
