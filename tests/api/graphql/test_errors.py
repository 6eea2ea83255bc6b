"""GraphQL error shapes: parse and validation failures, bad variables, depth limit, masking."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import LimitSettings, Settings
from service.roster.models import Org
from tests.api.graphql.conftest import GraphQL
from tests.factories import Actors


async def test_unknown_field_fails_validation(gql: GraphQL, actors: Actors) -> None:
    result = await gql("{ learners { items { shoeSize } } }", headers=await actors.a.headers("roster:read"))
    assert result.codes == ["GRAPHQL_VALIDATION_FAILED"]
    assert "shoeSize" in result.errors[0]["message"]
    assert result.errors[0]["locations"] == [{"line": 1, "column": 22}]
    assert result.data is None


async def test_syntax_error_fails_parsing(gql: GraphQL) -> None:
    result = await gql("{ learners { items { id } }")
    assert result.status == 200
    assert result.codes == ["GRAPHQL_PARSE_FAILED"]
    assert "Syntax Error" in result.errors[0]["message"]


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"id": "not-a-uuid"}, "UUID"),
        ({}, "to be provided"),
        ({"id": None}, "non-null type"),
    ],
)
async def test_bad_variables_are_bad_user_input(
    gql: GraphQL, actors: Actors, variables: dict[str, object], fragment: str
) -> None:
    result = await gql(
        "query($id: UUID!) { learner(id: $id) { id } }", variables, await actors.a.headers("roster:read")
    )
    assert result.codes == ["BAD_USER_INPUT"]
    assert "$id" in result.errors[0]["message"]
    assert fragment in result.errors[0]["message"]


def _nested(depth: int) -> str:
    """A query whose deepest field is at ``depth`` (counted like QueryDepthLimiter: learners=0)."""
    # One item per list: the depth is what is tested, not the cost (limits.max_graphql_cost).
    chain = ["classes(limit: 1)", "enrollments(limit: 1)", "person"]
    fields = ["learners", "items"] + [chain[i % 3] for i in range(depth - 2)] + ["id"]
    return "{ " + " { ".join(fields) + " }" * (len(fields) - 1) + " }"


async def test_query_depth_is_limited(gql: GraphQL, actors: Actors, settings: Settings) -> None:
    headers = await actors.a.headers("roster:read")
    limit = settings.limits.max_graphql_depth
    assert limit == 12
    at_limit = await gql(_nested(limit), headers=headers)
    assert at_limit.ok() == {"learners": {"items": []}}
    too_deep = await gql(_nested(limit + 1), headers=headers)
    # Refused before parsing and validation: an HTTP 400 problem naming the limit.
    assert too_deep.status == 400
    assert too_deep.body["code"] == "graphql_limit_exceeded"
    assert too_deep.body["errors"][0]["type"] == "max_graphql_depth"
    assert "13 levels deep; at most 12" in too_deep.body["detail"]


async def test_depth_limit_comes_from_settings(
    gql: GraphQL, actors: Actors, app: FastAPI, settings: Settings
) -> None:
    headers = await actors.a.headers("roster:read")
    app.state.settings = settings.model_copy(update={"limits": LimitSettings(max_graphql_depth=3)})
    assert (await gql(_nested(3), headers=headers)).ok() == {"learners": {"items": []}}
    too_deep = await gql(_nested(4), headers=headers)
    assert too_deep.status == 400
    assert "at most 3 (limits.max_graphql_depth)" in too_deep.body["detail"]


async def test_unexpected_errors_are_masked_and_logged(
    http: httpx.AsyncClient,
    actors: Actors,
    session: AsyncSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A row the API could never have written: its type is not an OrgType, so reading it is a bug.
    session.add(Org(tenant_id=actors.a.tenant.id, name="Bogus", type="castle-secret"))
    await session.commit()
    headers = await actors.a.headers("roster:read")
    with caplog.at_level(logging.ERROR, logger="service.api.graphql.errors"):
        response = await http.post(
            "/graphql", json={"query": "{ me { tenantId } orgs { items { name type } } }"}, headers=headers
        )
    assert response.status_code == 200
    body = response.json()
    request_id = response.headers["x-request-id"]
    assert body["data"] == {"me": {"tenantId": str(actors.a.tenant.id)}, "orgs": None}
    assert body["errors"] == [
        {
            "message": "Internal server error",
            "locations": [{"line": 1, "column": 19}],
            "path": ["orgs"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        }
    ]
    assert "castle" not in response.text and "Traceback" not in response.text
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert "castle-secret" in str(logged[0].exc_info[1])


async def test_expected_errors_are_not_logged_as_errors(
    gql: GraphQL, actors: Actors, caplog: pytest.LogCaptureFixture
) -> None:
    headers = await actors.a.headers("roster:read")
    with caplog.at_level(logging.WARNING):
        result = await gql('{ learner(id: "00000000-0000-0000-0000-000000000001") { id } }', headers=headers)
    assert result.codes == ["NOT_FOUND"]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
