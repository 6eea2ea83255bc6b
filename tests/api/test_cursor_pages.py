"""Cursor (keyset) paging of the award and credential lists, next to their offsets: REST ``after`` /
``next`` and GraphQL ``after`` / ``next`` walk the same rows in the same order as the offsets do."""

from __future__ import annotations

from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from service.badges.issuance import CredentialService
from service.config import Settings
from tests.api.graphql.conftest import GraphQL
from tests.badges.helpers import earn
from tests.factories import Actors

LEARNERS = 7


async def _district(session: AsyncSession, actors: Actors, settings: Settings) -> None:
    """Seven awards made in one evaluation (so that several share a creation time: the id breaks the
    tie) and their credentials."""
    earned = await earn(session, actors.a.tenant.id, learners=LEARNERS)
    await CredentialService(session, actors.a.tenant.id, settings).issue_awards(earned.award_ids)
    await session.commit()


async def _walk(http: httpx.AsyncClient, path: str, h: dict[str, str], **params: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    after: str | None = None
    while True:
        query = {"limit": 3, **params} | ({"after": after} if after else {})
        body = (await http.get(path, params=query, headers=h)).json()
        assert body["total"] == LEARNERS and body["offset"] == 0, body
        pages.append([item["uuid" if path.endswith("credentials") else "id"] for item in body["items"]])
        after = body["next"]
        if after is None:
            return pages
        assert len(pages) < 10, "the cursor does not advance"


async def test_rest_cursor_pages_serve_the_offset_order(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    await _district(session, actors, settings)
    h = await actors.a.all_headers()
    for path, key in (("/api/v1/awards", "id"), ("/api/v1/credentials", "uuid")):
        by_offset = []
        for offset in range(0, LEARNERS, 3):
            body = (await http.get(path, params={"limit": 3, "offset": offset}, headers=h)).json()
            by_offset.append([item[key] for item in body["items"]])
            # An offset page names the cursor after its last item too (null on the last page).
            assert (body["next"] is None) == (offset + 3 >= LEARNERS), (path, offset, body["next"])
        pages = await _walk(http, path, h)
        assert pages == by_offset, path
        assert [len(p) for p in pages] == [3, 3, 1]
        # Filters apply to cursor pages as to offset pages.
        filtered = await _walk(http, path, h, achievement_id=(await _first(http, path, h))["achievement_id"])
        assert filtered == pages

        # A cursor starts a page anywhere: right after the second item.
        first = (await http.get(path, params={"limit": 2}, headers=h)).json()
        rest = (await http.get(path, params={"limit": 50, "after": first["next"]}, headers=h)).json()
        assert [i[key] for i in rest["items"]] == [i for p in by_offset for i in p][2:]
        assert rest["next"] is None

        both = await http.get(path, params={"after": first["next"], "offset": 3}, headers=h)
        assert both.status_code == 400, both.text
        assert [e["loc"] for e in both.json()["errors"]] == ["query.offset"]
        for bad in ("nonsense", "bm90IGEgY3Vyc29y", first["next"][:-3]):
            refused = await http.get(path, params={"after": bad}, headers=h)
            assert refused.status_code == 422, (bad, refused.text)
            assert refused.json()["code"] == "invalid_cursor"
            assert [e["loc"] for e in refused.json()["errors"]] == ["query.after"]


async def _first(http: httpx.AsyncClient, path: str, h: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = (await http.get(path, params={"limit": 1}, headers=h)).json()["items"][0]
    return item


async def test_graphql_cursor_pages(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    await _district(session, actors, settings)
    h = await actors.a.all_headers()
    gql = GraphQL(http)
    for field, key in (("awards", "id"), ("credentials", "uuid")):
        everything = (await gql(f"{{ {field}(limit: 50) {{ next items {{ {key} }} }} }}", None, h)).ok()[
            field
        ]
        assert everything["next"] is None and len(everything["items"]) == LEARNERS
        walked: list[str] = []
        after: str | None = None
        while True:
            query = f"query($a: String) {{ {field}(limit: 3, after: $a) {{ total next items {{ {key} }} }} }}"
            page = (await gql(query, {"a": after}, h)).ok()[field]
            assert page["total"] == LEARNERS
            walked += [item[key] for item in page["items"]]
            after = page["next"]
            if after is None:
                break
        assert walked == [item[key] for item in everything["items"]]
        error = (await gql(f'{{ {field}(after: "nonsense") {{ total }} }}', None, h)).error()
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert [e["loc"] for e in error["extensions"]["errors"]] == ["after"]
        cursor = (await gql(f"{{ {field}(limit: 1) {{ next }} }}", None, h)).ok()[field]["next"]
        both = (await gql(f'{{ {field}(after: "{cursor}", offset: 2) {{ total }} }}', None, h)).error()
        assert [e["loc"] for e in both["extensions"]["errors"]] == ["offset"]
