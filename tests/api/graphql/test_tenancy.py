"""Tenants and API clients over GraphQL: admin manages all, tenants:* a district's own."""

from __future__ import annotations

import uuid

import httpx

from tests.api.graphql.conftest import GraphQL
from tests.factories import Actors, fetch_token

CREATE_TENANT = """
mutation($input: CreateTenantInput!) { createTenant(input: $input) { id slug name status createdAt } }
"""
CREATE_CLIENT = """
mutation($input: CreateApiClientInput!) {
  createApiClient(input: $input) { id tenantId clientId name scopes status clientSecret }
}
"""


async def test_admin_manages_tenants_and_clients(
    gql: GraphQL, http: httpx.AsyncClient, actors: Actors
) -> None:
    admin = await actors.a.headers("admin")
    slug = f"gq-{uuid.uuid4().hex[:8]}"
    tenant = (await gql(CREATE_TENANT, {"input": {"slug": slug, "name": "GraphQL District"}}, admin)).ok()[
        "createTenant"
    ]
    assert (tenant["slug"], tenant["name"], tenant["status"]) == (slug, "GraphQL District", "ACTIVE")

    listed = (await gql("{ tenants(limit: 200) { total items { id } } }", headers=admin)).ok()["tenants"]
    ids = {t["id"] for t in listed["items"]}
    assert {tenant["id"], str(actors.a.tenant.id), str(actors.b.tenant.id)} <= ids

    renamed = (
        await gql(
            'mutation($id: UUID!) { updateTenant(id: $id, input: {name: "Renamed"}) { name status } }',
            {"id": tenant["id"]},
            admin,
        )
    ).ok()
    assert renamed == {"updateTenant": {"name": "Renamed", "status": "ACTIVE"}}

    created = (
        await gql(
            CREATE_CLIENT,
            {
                "input": {
                    "tenantId": tenant["id"],
                    "name": "SIS sync",
                    "scopes": ["roster:write", "roster:read"],
                }
            },
            admin,
        )
    ).ok()["createApiClient"]
    assert created["tenantId"] == tenant["id"]
    assert created["scopes"] == ["roster:read", "roster:write"]
    assert created["clientSecret"].startswith("pcs_")

    # The secret works once at the token endpoint, and the new client sees its own (new) tenant.
    token = await fetch_token(http, created["clientId"], created["clientSecret"])
    me = (await gql("{ me { tenantId scopes } }", headers={"Authorization": f"Bearer {token}"})).ok()
    assert me == {"me": {"tenantId": tenant["id"], "scopes": ["roster:read", "roster:write"]}}

    # The secret is never readable again.
    got = (
        await gql("query($id: UUID!) { apiClient(id: $id) { name scopes } }", {"id": created["id"]}, admin)
    ).ok()
    assert got == {"apiClient": {"name": "SIS sync", "scopes": ["roster:read", "roster:write"]}}
    fields = (await gql('{ __type(name: "ApiClient") { fields { name } } }')).ok()["__type"]["fields"]
    assert "clientSecret" not in {f["name"] for f in fields}


async def test_non_admin_cannot_create_tenants(gql: GraphQL, actors: Actors) -> None:
    headers = await actors.a.headers("tenants:write")
    slug = f"gq-{uuid.uuid4().hex[:8]}"
    error = (await gql(CREATE_TENANT, {"input": {"slug": slug, "name": "Nope"}}, headers)).error()
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "admin" in error["message"]
    admin = await actors.a.headers("admin")
    found = (await gql("{ tenants(limit: 200) { items { slug } } }", headers=admin)).ok()["tenants"]["items"]
    assert slug not in {t["slug"] for t in found}


async def test_district_sees_only_itself(gql: GraphQL, actors: Actors) -> None:
    headers = await actors.b.headers("tenants:read")
    listed = (await gql("{ tenants { total items { id } } }", headers=headers)).ok()["tenants"]
    assert listed == {"total": 1, "items": [{"id": str(actors.b.tenant.id)}]}
    other = await gql(
        "query($id: UUID!) { tenant(id: $id) { id } }", {"id": str(actors.a.tenant.id)}, headers
    )
    error = other.error()
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert other.data == {"tenant": None}
    a_clients = await gql(
        "query($t: UUID) { apiClients(tenantId: $t) { total } }", {"t": str(actors.a.tenant.id)}, headers
    )
    assert a_clients.ok() == {"apiClients": {"total": 0}}


async def test_tenant_status_change_needs_admin(gql: GraphQL, actors: Actors) -> None:
    headers = await actors.a.headers("tenants:write")
    update = "mutation($id: UUID!) { updateTenant(id: $id, input: {status: INACTIVE}) { status } }"
    error = (await gql(update, {"id": str(actors.a.tenant.id)}, headers)).error()
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert (await gql("{ me { tenantId } }", headers=headers)).ok()  # the tenant is still active


async def test_client_cannot_grant_scopes_it_lacks(gql: GraphQL, actors: Actors) -> None:
    headers = await actors.a.headers("tenants:write", "roster:read")
    ok = (await gql(CREATE_CLIENT, {"input": {"name": "reader", "scopes": ["roster:read"]}}, headers)).ok()
    assert ok["createApiClient"]["tenantId"] == str(actors.a.tenant.id)
    error = (await gql(CREATE_CLIENT, {"input": {"name": "w", "scopes": ["roster:write"]}}, headers)).error()
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "roster:write" in error["message"]


async def test_validation_errors_name_the_field(gql: GraphQL, actors: Actors) -> None:
    admin = await actors.a.headers("admin")
    bad_slug = (await gql(CREATE_TENANT, {"input": {"slug": "Not A Slug", "name": "X"}}, admin)).error()
    assert bad_slug["extensions"]["code"] == "BAD_USER_INPUT"
    assert [e["loc"] for e in bad_slug["extensions"]["errors"]] == ["input.slug"]
    assert bad_slug["extensions"]["errors"][0]["type"] == "string_pattern_mismatch"

    bad_scope = (await gql(CREATE_CLIENT, {"input": {"name": "c", "scopes": ["roster:fly"]}}, admin)).error()
    assert bad_scope["extensions"]["code"] == "BAD_USER_INPUT"
    assert bad_scope["extensions"]["errors"][0]["loc"] == "input.scopes"
    assert "roster:fly" in bad_scope["extensions"]["errors"][0]["message"]


async def test_duplicate_slug_is_conflict(gql: GraphQL, actors: Actors) -> None:
    admin = await actors.a.headers("admin")
    taken = {"input": {"slug": actors.b.tenant.slug, "name": "Dup"}}
    error = (await gql(CREATE_TENANT, taken, admin)).error()
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["status"] == 409
