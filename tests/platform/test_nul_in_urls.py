"""U+0000 in a URL is a 400 naming the parameter on both backends (PostgreSQL text cannot hold it)."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import Actors


@pytest.mark.parametrize(
    ("path", "params", "loc"),
    [
        ("/api/v1/learners", {"q": "a\u0000b"}, "query.q"),
        ("/api/v1/learners", {"sourced_id": "\u0000"}, "query.sourced_id"),
        ("/api/v1/people", {"q": "x", "role": "student\u0000"}, "query.role"),
        ("/api/v1/learners/a%00b", None, "path"),
    ],
)
async def test_nul_in_the_url_is_a_named_400(
    http: httpx.AsyncClient, actors: Actors, path: str, params: dict[str, str] | None, loc: str
) -> None:
    response = await http.get(path, params=params, headers=await actors.a.headers("roster:read"))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert [e["loc"] for e in body["errors"]] == [loc]
    assert response.headers["x-request-id"]


async def test_urls_without_nul_are_untouched(http: httpx.AsyncClient, actors: Actors) -> None:
    response = await http.get(
        "/api/v1/learners", params={"q": "0%00 literal"}, headers=await actors.a.headers("roster:read")
    )
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 0
