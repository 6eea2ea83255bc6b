"""One JSON reader for every body (issue 11): the same depth and count bounds on REST (pydantic
bodies, bulk evidence, imports) and GraphQL; a 10,000-deep body is a 400, never a 500."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from service.config import LimitSettings, Settings
from tests.factories import Actors

DEEP = b"[" * 10_000 + b"1" + b"]" * 10_000


def nested(levels: int) -> bytes:
    return b'{"a": ' * (levels - 1) + b"{}" + b"}" * (levels - 1)


@pytest.mark.parametrize(
    ("path", "scopes"),
    [
        ("/api/v1/evidence", ("evidence:write",)),
        ("/api/v1/frameworks/import", ("frameworks:write",)),
        ("/api/v1/learners", ("roster:write",)),
        ("/api/v1/clients", ("tenants:write",)),
        ("/graphql", ("roster:read",)),
    ],
)
async def test_deep_bodies_are_a_400_everywhere(
    http: httpx.AsyncClient, actors: Actors, path: str, scopes: tuple[str, ...]
) -> None:
    headers = {**await actors.a.headers(*scopes), "content-type": "application/json"}
    for body in (DEEP, nested(65)):
        response = await http.post(path, content=body, headers=headers)
        assert response.status_code == 400, (path, response.text[:300])
        problem = response.json()
        assert problem["code"] == "json_too_deep"
        assert "at most 64 levels (limits.max_json_depth)" in problem["detail"]


async def test_within_the_depth_a_body_reaches_its_validation(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    headers = {**await actors.a.headers("roster:write"), "content-type": "application/json"}
    response = await http.post("/api/v1/learners", content=nested(64), headers=headers)
    assert response.status_code == 422  # read, then refused by the schema: not the reader's 400


async def test_the_count_bound_comes_from_settings(
    http: httpx.AsyncClient, actors: Actors, app: FastAPI, settings: Settings
) -> None:
    headers = {**await actors.a.headers("roster:write"), "content-type": "application/json"}
    app.state.settings = settings.model_copy(update={"limits": LimitSettings(max_json_values=1000)})
    response = await http.post("/api/v1/learners", content=b"[" + b"1," * 1000 + b"1]", headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "json_too_many_values"
