"""GraphQL authentication and scopes: same bearer tokens and scope rules as REST."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from service.config import Settings
from service.tenancy.tokens import issue_access_token
from tests.api.graphql.conftest import GraphQL
from tests.factories import Actors

ME = "{ me { tenantId clientId scopes isAdmin } }"


async def test_me_describes_the_caller(gql: GraphQL, actors: Actors) -> None:
    data = (await gql(ME, headers=await actors.a.headers("roster:read", "tenants:read"))).ok()
    assert data["me"]["tenantId"] == str(actors.a.tenant.id)
    assert data["me"]["scopes"] == ["tenants:read", "roster:read"]  # canonical order, as in tokens
    assert data["me"]["isAdmin"] is False
    assert data["me"]["clientId"].startswith("pc_")


@pytest.mark.parametrize(
    "query",
    [
        ME,
        "{ learners { total } }",
        "{ tenants { total } }",
        '{ class(id: "00000000-0000-0000-0000-000000000001") { id } }',
        'mutation { createOrg(input: {name: "X", type: SCHOOL}) { id } }',
    ],
)
async def test_no_token_is_unauthenticated(gql: GraphQL, query: str) -> None:
    error = (await gql(query)).error()
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["extensions"]["status"] == 401
    assert "access token is required" in error["message"]


async def test_introspection_needs_no_token(gql: GraphQL) -> None:
    data = (await gql("{ __schema { queryType { name } mutationType { name } } }")).ok()
    assert data["__schema"] == {"queryType": {"name": "Query"}, "mutationType": {"name": "Mutation"}}
    learner = (await gql('{ __type(name: "Learner") { fields { name } } }')).ok()
    names = {f["name"] for f in learner["__type"]["fields"]}
    assert {"givenName", "orgs", "classes"} <= names


def _expired_token(settings: Settings, tenant_id: uuid.UUID) -> str:
    return issue_access_token(
        secret=settings.token_secret_value(),
        issuer=settings.auth.token_issuer,
        audience=settings.auth.token_audience,
        ttl_seconds=60,
        tenant_id=tenant_id,
        api_client_id=uuid.uuid4(),
        client_id="pc_expired",
        scopes=["roster:read"],
        now=datetime.now(UTC) - timedelta(hours=2),
    ).access_token


@pytest.mark.parametrize(
    ("kind", "detail"),
    [
        ("garbage", "the access token is invalid"),
        ("expired", "the access token has expired"),
        ("basic", "the Authorization header must use the Bearer scheme"),
    ],
)
async def test_bad_token_is_http_401_problem(
    http: httpx.AsyncClient, actors: Actors, settings: Settings, kind: str, detail: str
) -> None:
    authorization = {
        "garbage": "Bearer not-a-jwt",
        "expired": f"Bearer {_expired_token(settings, actors.a.tenant.id)}",
        "basic": "Basic dXNlcjpwYXNz",
    }[kind]
    response = await http.post(
        "/graphql", json={"query": "{ learners { total } }"}, headers={"Authorization": authorization}
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == 401
    assert body["type"] == "urn:portrait:problem:unauthorized"
    assert body["detail"] == detail
    assert body["request_id"] == response.headers["x-request-id"]


async def test_disabled_client_token_is_rejected_at_once(gql: GraphQL, actors: Actors) -> None:
    admin = await actors.a.headers("admin")
    reader = await actors.a.headers("roster:read")
    me = (await gql(ME, headers=reader)).ok()["me"]
    clients = (await gql("{ apiClients(limit: 200) { items { id clientId } } }", headers=admin)).ok()
    client_id = next(c["id"] for c in clients["apiClients"]["items"] if c["clientId"] == me["clientId"])
    update = "mutation($id: UUID!) { updateApiClient(id: $id, input: {status: INACTIVE}) { status } }"
    assert (await gql(update, {"id": client_id}, headers=admin)).ok() == {
        "updateApiClient": {"status": "INACTIVE"}
    }
    response = await gql.http.post("/graphql", json={"query": ME}, headers=reader)
    assert response.status_code == 401
    assert "disabled" in response.json()["detail"]


@pytest.mark.parametrize(
    ("scopes", "query", "needed"),
    [
        (("tenants:read",), "{ learners { total } }", "roster:read"),
        (("roster:read",), "{ tenants { total } }", "tenants:read"),
        (("roster:read",), 'mutation { createOrg(input: {name: "X", type: SCHOOL}) { id } }', "roster:write"),
        (
            ("roster:write",),
            'mutation { createTenant(input: {slug: "x", name: "X"}) { id } }',
            "tenants:write",
        ),
    ],
)
async def test_missing_scope_is_forbidden(
    gql: GraphQL, actors: Actors, scopes: tuple[str, ...], query: str, needed: str
) -> None:
    error = (await gql(query, headers=await actors.a.headers(*scopes))).error()
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["extensions"]["status"] == 403
    assert needed in error["message"]


async def test_write_scope_implies_read(gql: GraphQL, actors: Actors) -> None:
    data = (await gql("{ learners { total } }", headers=await actors.a.headers("roster:write"))).ok()
    assert data == {"learners": {"total": 0}}


async def test_a_forbidden_field_does_not_fail_its_siblings(gql: GraphQL, actors: Actors) -> None:
    headers = await actors.a.headers("tenants:read")
    result = await gql("{ me { tenantId } learners { items { id } } }", headers=headers)
    error = result.error()
    assert error["path"] == ["learners"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert result.data == {"me": {"tenantId": str(actors.a.tenant.id)}, "learners": None}


async def test_get_serves_graphiql_but_runs_nothing(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    query = await http.get(
        "/graphql", params={"query": "{ __typename }"}, headers={"Accept": "application/json"}
    )
    assert query.status_code != 200
