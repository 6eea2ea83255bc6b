"""Tenants and API clients over REST: admin manages all, a tenant manages only itself."""

from __future__ import annotations

import uuid

import httpx

from tests.factories import Actors


async def test_admin_creates_lists_and_updates_tenants(http: httpx.AsyncClient, actors: Actors) -> None:
    admin = await actors.a.headers("admin")
    slug = f"north-{uuid.uuid4().hex[:6]}"
    created = await http.post("/api/v1/tenants", json={"slug": slug, "name": "North District"}, headers=admin)
    assert created.status_code == 201, created.text
    tenant = created.json()
    assert tenant["slug"] == slug and tenant["status"] == "active"
    duplicate = await http.post("/api/v1/tenants", json={"slug": slug, "name": "Again"}, headers=admin)
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "tenant_slug_taken"
    listed = await http.get("/api/v1/tenants", params={"limit": 200}, headers=admin)
    slugs = {t["slug"] for t in listed.json()["items"]}
    assert {slug, actors.a.tenant.slug, actors.b.tenant.slug} <= slugs
    renamed = await http.patch(f"/api/v1/tenants/{tenant['id']}", json={"name": "North USD"}, headers=admin)
    assert renamed.status_code == 200 and renamed.json()["name"] == "North USD"


async def test_non_admin_sees_only_its_own_tenant(http: httpx.AsyncClient, actors: Actors) -> None:
    reader = await actors.a.headers("tenants:read")
    listed = await http.get("/api/v1/tenants", headers=reader)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()["items"]] == [str(actors.a.tenant.id)]
    assert listed.json()["total"] == 1
    own = await http.get(f"/api/v1/tenants/{actors.a.tenant.id}", headers=reader)
    assert own.status_code == 200
    other = await http.get(f"/api/v1/tenants/{actors.b.tenant.id}", headers=reader)
    assert other.status_code == 404
    missing = await http.get(f"/api/v1/tenants/{uuid.uuid4()}", headers=reader)
    assert missing.status_code == 404
    # Same body for "exists elsewhere" and "does not exist": no existence leak.
    assert other.json()["code"] == missing.json()["code"]


async def test_non_admin_cannot_create_tenants_or_change_status(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    writer = await actors.a.headers("tenants:write")
    created = await http.post("/api/v1/tenants", json={"slug": "sneaky", "name": "S"}, headers=writer)
    assert created.status_code == 403
    status = await http.patch(
        f"/api/v1/tenants/{actors.a.tenant.id}", json={"status": "inactive"}, headers=writer
    )
    assert status.status_code == 403
    rename = await http.patch(
        f"/api/v1/tenants/{actors.a.tenant.id}", json={"name": "Renamed"}, headers=writer
    )
    assert rename.status_code == 200 and rename.json()["name"] == "Renamed"
    foreign = await http.patch(
        f"/api/v1/tenants/{actors.b.tenant.id}", json={"name": "Mine now"}, headers=writer
    )
    assert foreign.status_code == 404


async def test_clients_are_scoped_to_the_tenant_and_cannot_escalate(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    manager = await actors.a.headers("tenants:write", "roster:read")
    ok = await http.post("/api/v1/clients", json={"name": "sis", "scopes": ["roster:read"]}, headers=manager)
    assert ok.status_code == 201, ok.text
    body = ok.json()
    assert body["client_secret"].startswith("pcs_")
    assert body["tenant_id"] == str(actors.a.tenant.id)
    fetched = await http.get(f"/api/v1/clients/{body['id']}", headers=manager)
    assert "client_secret" not in fetched.json() and "secret_hash" not in fetched.json()
    escalate = await http.post(
        "/api/v1/clients", json={"name": "x", "scopes": ["roster:write"]}, headers=manager
    )
    assert escalate.status_code == 403
    admin_grab = await http.post("/api/v1/clients", json={"name": "x", "scopes": ["admin"]}, headers=manager)
    assert admin_grab.status_code == 403
    foreign = await http.post(
        "/api/v1/clients",
        json={"name": "x", "scopes": ["roster:read"], "tenant_id": str(actors.b.tenant.id)},
        headers=manager,
    )
    assert foreign.status_code == 404
    b_clients = await http.get("/api/v1/clients", headers=await actors.b.headers("tenants:read"))
    assert body["id"] not in {c["id"] for c in b_clients.json()["items"]}
    b_get = await http.get(f"/api/v1/clients/{body['id']}", headers=await actors.b.headers("tenants:read"))
    assert b_get.status_code == 404
    unknown = await http.post(
        "/api/v1/clients", json={"name": "x", "scopes": ["roster:delete"]}, headers=manager
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"] == "body.scopes"


async def test_admin_manages_clients_of_any_tenant(http: httpx.AsyncClient, actors: Actors) -> None:
    admin = await actors.a.headers("admin")
    created = await http.post(
        "/api/v1/clients",
        json={"name": "for b", "scopes": ["roster:read", "admin"], "tenant_id": str(actors.b.tenant.id)},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["tenant_id"] == str(actors.b.tenant.id)
    listed = await http.get("/api/v1/clients", params={"tenant_id": str(actors.b.tenant.id)}, headers=admin)
    assert created.json()["id"] in {c["id"] for c in listed.json()["items"]}


async def test_slug_validation_names_the_field(http: httpx.AsyncClient, actors: Actors) -> None:
    admin = await actors.a.headers("admin")
    for slug in ["Upper", "-lead", "a" * 64, "sp ace", ""]:
        response = await http.post("/api/v1/tenants", json={"slug": slug, "name": "X"}, headers=admin)
        assert response.status_code == 422, slug
        assert response.json()["errors"][0]["loc"] == "body.slug"
