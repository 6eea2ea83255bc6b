"""Malformed, oversized and mistyped requests get a precise 4xx problem document, never a 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from service.config import Settings
from tests.factories import Actors


async def test_malformed_json_is_400(http: httpx.AsyncClient, actors: Actors) -> None:
    response = await http.post(
        "/api/v1/learners",
        content=b'{"given_name": "A", ',
        headers={**await actors.a.headers("roster:write"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "malformed_json"
    assert problem["status"] == 400 and "JSON" in problem["detail"]


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42", b"null"])
async def test_json_that_is_not_an_object_is_422(
    http: httpx.AsyncClient, actors: Actors, body: bytes
) -> None:
    response = await http.post(
        "/api/v1/learners",
        content=body,
        headers={**await actors.a.headers("roster:write"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"].startswith("body")


async def test_non_json_content_type_is_rejected(http: httpx.AsyncClient, actors: Actors) -> None:
    response = await http.post(
        "/api/v1/learners",
        content=b"given_name=A&family_name=B",
        headers={
            **await actors.a.headers("roster:write"),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert "application/x-www-form-urlencoded" in response.json()["detail"]


async def test_oversized_body_by_content_length_is_413(
    http: httpx.AsyncClient, actors: Actors, settings: Settings
) -> None:
    big = {"given_name": "A", "family_name": "B", "preferred_name": "x" * settings.limits.max_body_bytes}
    response = await http.post("/api/v1/learners", json=big, headers=await actors.a.headers("roster:write"))
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert str(settings.limits.max_body_bytes) in response.json()["detail"]


async def test_oversized_streamed_body_is_413(
    http: httpx.AsyncClient, actors: Actors, settings: Settings
) -> None:
    chunk = b" " * 65536

    async def stream() -> AsyncIterator[bytes]:
        yield b'{"given_name": "A", "family_name": "B"'
        for _ in range(settings.limits.max_body_bytes // len(chunk) + 2):
            yield chunk
        yield b"}"

    response = await http.post(
        "/api/v1/learners",
        content=stream(),
        headers={**await actors.a.headers("roster:write"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["status"] == 413
    # Nothing was written.
    listed = await http.get("/api/v1/learners", headers=await actors.a.headers("roster:read"))
    assert listed.json()["total"] == 0


async def test_invalid_content_length_is_400(http: httpx.AsyncClient) -> None:
    response = await http.post("/oauth/token", content=b"x", headers={"Content-Length": "abc"})
    assert response.status_code == 400


async def test_unknown_route_and_method_are_problems(http: httpx.AsyncClient, actors: Actors) -> None:
    missing = await http.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    wrong = await http.delete("/api/v1/learners", headers=await actors.a.headers("roster:write"))
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"


async def test_request_id_is_echoed_or_generated(http: httpx.AsyncClient, actors: Actors) -> None:
    given = await http.get("/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await http.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 32
    problem = await http.get("/api/v1/learners", headers={"X-Request-ID": "trace-42"})
    assert problem.status_code == 401
    assert problem.json()["request_id"] == "trace-42"


async def test_problem_documents_have_rfc9457_members(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v1/learners")
    body = response.json()
    for member in ("type", "title", "status", "detail"):
        assert member in body
    assert body["status"] == response.status_code
    assert json.dumps(body).find("Traceback") == -1
