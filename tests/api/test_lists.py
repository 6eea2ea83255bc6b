"""Every list is paged the same way: the Page envelope, limits from the settings, and unknown query
parameters refused with a 400 naming them (one shared dependency)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from tests.api.graphql.conftest import GraphQL
from tests.factories import Actors, make_portrait

#: The lists that also page by cursor (``after``, ``next``): tests/api/test_cursor_pages.py.
CURSOR_PAGED = {"/api/v1/awards", "/api/v1/credentials"}


def _list_paths(document: dict[str, Any]) -> list[str]:
    """GET operations of our own API that take ``limit`` (the paged lists)."""
    paths = []
    for path, operations in document["paths"].items():
        get = operations.get("get")
        params = [] if get is None else get.get("parameters", [])
        if path.startswith("/api/v1/") and any(p["name"] == "limit" and p["in"] == "query" for p in params):
            paths.append(path)
    return paths


async def test_every_list_is_a_page_and_refuses_unknown_parameters(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    document = (await http.get("/openapi.json")).json()
    lists = _list_paths(document)
    assert {"/api/v1/oneroster/grade-maps", "/api/v1/issuer/keys", "/api/v1/learners"} <= set(lists)
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if not path.startswith("/api/v1/") or get is None:
            continue
        schema = get["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema.get("type") != "array", f"{path} returns a bare array"
        if path in lists:
            assert schema["$ref"].startswith(
                ("#/components/schemas/Page_", "#/components/schemas/CursorPage_")
            ), path

    h = await actors.a.all_headers()
    for path in lists:
        url = path.replace("{webhook_id}", str(uuid.uuid4()))
        ok = await http.get(url, params={"limit": 1, "offset": 0}, headers=h)
        if "{" not in path:
            assert ok.status_code == 200, (path, ok.text)
            envelope = {"items", "total", "total_exact", "limit", "offset"}
            assert set(ok.json()) == (envelope | {"next"} if path in CURSOR_PAGED else envelope), path
            assert ok.json()["limit"] == 1
        bad = await http.get(url, params={"nme": "garcia", "limit": 1}, headers=h)
        assert bad.status_code == 400, (path, bad.text)
        assert bad.headers["content-type"].startswith("application/problem+json")
        body = bad.json()
        assert body["code"] == "unknown_query_parameter"
        assert [e["loc"] for e in body["errors"]] == ["query.nme"], body
        assert "nme" in body["detail"] and "limit" in body["detail"]

    several = await http.get("/api/v1/learners", params={"nme": "x", "stauts": "active", "q": "a"}, headers=h)
    assert several.status_code == 400
    assert [e["loc"] for e in several.json()["errors"]] == ["query.nme", "query.stauts"]
    assert "sourced_id" in several.json()["errors"][0]["message"]  # the accepted names are listed
    # A route's own declared filters pass, and so do parameters of its dependencies (paging).
    assert (
        await http.get("/api/v1/learners", params={"q": "a", "status": "active"}, headers=h)
    ).status_code == 200


async def test_page_size_settings_apply_to_rest_and_graphql(
    http: httpx.AsyncClient,
    actors: Actors,
    session: AsyncSession,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await make_portrait(session, actors.a.tenant.id, learners=4)
    await session.commit()
    h = await actors.a.all_headers()
    gql = GraphQL(http)
    # The defaults: 50 per page, at most 200.
    assert (await http.get("/api/v1/learners", headers=h)).json()["limit"] == 50
    assert (await http.get("/api/v1/learners", params={"limit": 200}, headers=h)).status_code == 200
    over = await http.get("/api/v1/learners", params={"limit": 201}, headers=h)
    assert over.status_code == 422 and over.json()["errors"][0]["loc"] == "query.limit"
    assert (await gql("{ learners { limit } }", None, h)).ok()["learners"]["limit"] == 50

    monkeypatch.setattr(
        settings, "limits", settings.limits.model_copy(update={"max_page_size": 3, "default_page_size": 2})
    )
    page = (await http.get("/api/v1/learners", headers=h)).json()
    assert page["limit"] == 2 and len(page["items"]) == 2 and page["total"] == 4
    assert len((await http.get("/api/v1/learners", params={"limit": 3}, headers=h)).json()["items"]) == 3
    refused = await http.get("/api/v1/learners", params={"limit": 4}, headers=h)
    assert refused.status_code == 422
    assert refused.json()["errors"] == [
        {"loc": "query.limit", "message": "must be at most 3", "type": "less_than_equal"}
    ]
    data = (await gql("{ learners { limit items { id } } }", None, h)).ok()["learners"]
    assert data["limit"] == 2 and len(data["items"]) == 2
    error = (await gql("{ learners(limit: 4) { total } }", None, h)).error()
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert [e["loc"] for e in error["extensions"]["errors"]] == ["limit"]
    assert "3" in error["extensions"]["errors"][0]["message"]


async def test_issuer_keys_and_grade_maps_are_paged(http: httpx.AsyncClient, actors: Actors) -> None:
    write = await actors.a.headers("credentials:write", "credentials:read")
    rotated = await http.post("/api/v1/issuer/keys/rotate", json={"kinds": ["Ed25519", "RSA"]}, headers=write)
    assert rotated.status_code == 200, rotated.text
    everything = (await http.get("/api/v1/issuer/keys", headers=write)).json()
    assert everything["total"] == len(everything["items"]) == len(rotated.json()) >= 2
    first = (await http.get("/api/v1/issuer/keys", params={"limit": 1}, headers=write)).json()
    second = (await http.get("/api/v1/issuer/keys", params={"limit": 1, "offset": 1}, headers=write)).json()
    assert first["total"] == everything["total"] and len(first["items"]) == len(second["items"]) == 1
    assert [first["items"][0], second["items"][0]] == everything["items"][:2]
    # District B sees none of A's keys.
    b = await actors.b.headers("credentials:read")
    assert (await http.get("/api/v1/issuer/keys", headers=b)).json()["total"] == 0

    maps = await actors.a.headers("sync:read")
    empty = await http.get("/api/v1/oneroster/grade-maps", headers=maps)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {"items": [], "total": 0, "total_exact": True, "limit": 50, "offset": 0}


async def test_totals_are_counted_up_to_the_count_limit(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting stops past COUNT_LIMIT: the total then reads COUNT_LIMIT + 1 and says it is a lower bound
    (REST and GraphQL); below it every total is exact."""
    import service.db
    import service.schemas

    await make_portrait(session, actors.a.tenant.id, learners=6)
    await session.commit()
    h = await actors.a.all_headers()
    gql = GraphQL(http)
    exact = (await http.get("/api/v1/learners", params={"limit": 2}, headers=h)).json()
    assert (exact["total"], exact["total_exact"]) == (6, True)

    monkeypatch.setattr(service.db, "COUNT_LIMIT", 4)
    monkeypatch.setattr(service.schemas, "COUNT_LIMIT", 4)
    monkeypatch.setattr("service.api.graphql.common.COUNT_LIMIT", 4)
    capped = (await http.get("/api/v1/learners", params={"limit": 2}, headers=h)).json()
    assert (capped["total"], capped["total_exact"], len(capped["items"])) == (5, False, 2)
    # Paging past the counted matches still serves the rows that exist.
    tail = (await http.get("/api/v1/learners", params={"limit": 2, "offset": 5}, headers=h)).json()
    assert len(tail["items"]) == 1
    data = (await gql("{ learners(limit: 2) { total totalExact } }", None, h)).ok()["learners"]
    assert data == {"total": 5, "totalExact": False}
    small = (await http.get("/api/v1/learners", params={"q": "L1"}, headers=h)).json()
    assert small["total_exact"] is True and small["total"] == len(small["items"]) >= 1


DEEP_PAGED = ["/api/v1/learners", "/api/v1/enrollments", "/api/v1/people", "/api/v1/classes"]


@pytest.mark.parametrize("path", DEEP_PAGED)
async def test_deep_pages_read_ids_first_and_serve_the_same_rows(
    http: httpx.AsyncClient,
    actors: Actors,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    """Past DEFERRED_JOIN_OFFSET a page's ids are found first and its rows read after (a deferred join):
    every page, in both forms, holds the same rows in the same order, ties on the sort keys included (all
    learners share a family name, enrollments of one class were created in one transaction)."""
    import service.db

    await make_portrait(session, actors.a.tenant.id, learners=5, classes=4)
    await session.commit()
    h = await actors.a.all_headers()

    async def pages() -> list[list[str]]:
        out = []
        for offset in range(0, 20, 3):
            body = (await http.get(path, params={"limit": 3, "offset": offset}, headers=h)).json()
            out.append([item["id"] for item in body["items"]])
        return out

    monkeypatch.setattr(service.db, "DEFERRED_JOIN_OFFSET", 10**9)
    plain = await pages()
    monkeypatch.setattr(service.db, "DEFERRED_JOIN_OFFSET", 1)
    deferred = await pages()
    assert deferred == plain
    served = [item for page in plain for item in page]
    assert len(served) >= 4 and len(set(served)) == len(served)
