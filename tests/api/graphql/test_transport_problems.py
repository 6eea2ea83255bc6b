"""Transport-level GraphQL failures are RFC 9457 problem documents, like the rest of the API."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("body", "content_type", "detail"),
    [
        (b"{bad", "application/json", "JSON"),
        (b"{}", "application/json", "query"),
        (b"x", "text/plain", "content type"),
    ],
)
async def test_unparsable_requests_are_problems(
    http: httpx.AsyncClient, body: bytes, content_type: str, detail: str
) -> None:
    response = await http.post("/graphql", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 400
    assert detail in problem["detail"]
    assert problem["request_id"] == response.headers["x-request-id"]
