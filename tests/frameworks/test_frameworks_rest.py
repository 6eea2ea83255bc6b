"""Frameworks over REST: drafting, publishing freezes, versions, retirement, isolation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.factories import Actors, District


async def _draft_with_tree(http: httpx.AsyncClient, d: District) -> dict[str, Any]:
    w = await d.headers("frameworks:write")
    fw = (
        await http.post(
            "/api/v1/frameworks", json={"kind": "graduate", "title": "Portrait of a Graduate"}, headers=w
        )
    ).json()
    base = f"/api/v1/frameworks/{fw['id']}"
    attr = (
        await http.post(
            f"{base}/attributes", json={"title": "Human-Centered", "foundational": True}, headers=w
        )
    ).json()
    levels = []
    for title in ("Working Toward", "Proficient", "Extending"):
        response = await http.post(
            f"{base}/levels", json={"title": title, "proficient": title == "Proficient"}, headers=w
        )
        assert response.status_code == 201, response.text
        levels.append(response.json())
    comp = await http.post(
        f"{base}/competencies",
        json={
            "title": "Collaborator",
            "code": "C1",
            "statement": "Works with others toward shared goals.",
            "category": "transferable",
            "attribute_id": attr["id"],
            "grade_bands": [
                {"band": "K-2", "descriptor": "Takes turns."},
                {"band": "9-12", "descriptor": "Leads teams."},
            ],
            "look_fors": ["Shares roles", "Builds on ideas"],
            "launch_school_year": 2027,
        },
        headers=w,
    )
    assert comp.status_code == 201, comp.text
    put = await http.put(
        f"{base}/competencies/{comp.json()['id']}/descriptors",
        json=[{"level_id": lv["id"], "description": f"{lv['title']} collaboration"} for lv in levels],
        headers=w,
    )
    assert put.status_code == 200, put.text
    return {"framework": fw, "attribute": attr, "levels": levels, "competency": comp.json(), "base": base}


async def test_draft_tree_is_read_back_whole(http: httpx.AsyncClient, actors: Actors) -> None:
    made = await _draft_with_tree(http, actors.a)
    tree = (await http.get(made["base"], headers=await actors.a.headers("frameworks:read"))).json()
    assert tree["status"] == "draft"
    assert [a["title"] for a in tree["attributes"]] == ["Human-Centered"]
    assert [lv["title"] for lv in tree["levels"]] == ["Working Toward", "Proficient", "Extending"]
    assert [lv["position"] for lv in tree["levels"]] == [0, 1, 2]
    comp = tree["competencies"][0]
    assert comp["attribute_id"] == made["attribute"]["id"]
    assert comp["grade_bands"][1] == {"band": "9-12", "descriptor": "Leads teams."}
    assert comp["launch_school_year"] == 2027
    assert [d["description"] for d in comp["descriptors"]] == [
        "Working Toward collaboration",
        "Proficient collaboration",
        "Extending collaboration",
    ]


async def test_publish_freezes_and_new_version_is_editable(http: httpx.AsyncClient, actors: Actors) -> None:
    made = await _draft_with_tree(http, actors.a)
    w = await actors.a.headers("frameworks:write")
    base = made["base"]
    published = await http.post(f"{base}/publish", headers=w)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    assert published.json()["published_at"]
    for method, path, body in [
        ("PATCH", base, {"title": "Changed"}),
        ("POST", f"{base}/attributes", {"title": "New"}),
        ("POST", f"{base}/levels", {"title": "Mastery"}),
        ("PATCH", f"{base}/competencies/{made['competency']['id']}", {"title": "X"}),
        ("DELETE", f"{base}/levels/{made['levels'][0]['id']}", None),
        ("DELETE", base, None),
    ]:
        response = await http.request(method, path, json=body, headers=w)
        assert response.status_code == 409, (method, path, response.text)
        assert response.json()["code"] == "framework_frozen"
    again = await http.post(f"{base}/publish", headers=w)
    assert again.status_code == 409

    v2 = await http.post(f"{base}/versions", json={}, headers=w)
    assert v2.status_code == 201, v2.text
    v2_body = v2.json()
    assert v2_body["status"] == "draft"
    assert v2_body["version"] == "2"
    assert v2_body["family_id"] == made["framework"]["family_id"]
    assert v2_body["previous_version_id"] == made["framework"]["id"]
    v2_tree = (await http.get(f"/api/v1/frameworks/{v2_body['id']}", headers=w)).json()
    assert [c["title"] for c in v2_tree["competencies"]] == ["Collaborator"]
    assert v2_tree["competencies"][0]["id"] != made["competency"]["id"]
    assert len(v2_tree["competencies"][0]["descriptors"]) == 3
    level_ids = {lv["id"] for lv in v2_tree["levels"]}
    assert {d["level_id"] for d in v2_tree["competencies"][0]["descriptors"]} == level_ids
    renamed = await http.patch(
        f"/api/v1/frameworks/{v2_body['id']}", json={"title": "Portrait v2"}, headers=w
    )
    assert renamed.status_code == 200
    # v1 is untouched.
    v1 = (await http.get(base, headers=w)).json()
    assert v1["title"] == "Portrait of a Graduate"
    family = (
        await http.get("/api/v1/frameworks", params={"family_id": v2_body["family_id"]}, headers=w)
    ).json()
    assert family["total"] == 2

    retired = await http.post(f"{base}/retire", headers=w)
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    still_readable = await http.get(base, headers=w)
    assert still_readable.status_code == 200
    assert still_readable.json()["competencies"][0]["title"] == "Collaborator"
    assert (await http.post(f"{base}/retire", headers=w)).status_code == 409


async def test_cannot_publish_an_empty_draft(http: httpx.AsyncClient, actors: Actors) -> None:
    w = await actors.a.headers("frameworks:write")
    fw = (await http.post("/api/v1/frameworks", json={"kind": "leader", "title": "Empty"}, headers=w)).json()
    response = await http.post(f"/api/v1/frameworks/{fw['id']}/publish", headers=w)
    assert response.status_code == 409
    assert {e["loc"] for e in response.json()["errors"]} == {"competencies", "levels"}
    draft_version = await http.post(f"/api/v1/frameworks/{fw['id']}/versions", json={}, headers=w)
    assert draft_version.status_code == 409


async def test_references_and_cycles_are_rejected(http: httpx.AsyncClient, actors: Actors) -> None:
    made = await _draft_with_tree(http, actors.a)
    w = await actors.a.headers("frameworks:write")
    base = made["base"]
    other = await _draft_with_tree(http, actors.a)
    foreign_attr = await http.post(
        f"{base}/competencies",
        json={"title": "X", "statement": "Y", "attribute_id": other["attribute"]["id"]},
        headers=w,
    )
    assert foreign_attr.status_code == 422
    assert foreign_attr.json()["errors"][0]["loc"] == "body.attribute_id"
    child = (
        await http.post(
            f"{base}/competencies",
            json={"title": "Child", "statement": "S", "parent_id": made["competency"]["id"]},
            headers=w,
        )
    ).json()
    cycle = await http.patch(
        f"{base}/competencies/{made['competency']['id']}", json={"parent_id": child["id"]}, headers=w
    )
    assert cycle.status_code == 422
    assert cycle.json()["errors"][0]["type"] == "cycle"
    bad_level = await http.put(
        f"{base}/competencies/{child['id']}/descriptors",
        json=[{"level_id": str(uuid.uuid4()), "description": "d"}],
        headers=w,
    )
    assert bad_level.status_code == 422
    taken = await http.post(f"{base}/levels", json={"title": "Dup", "position": 0}, headers=w)
    assert taken.status_code == 409
    busy = await http.delete(f"{base}/attributes/{made['attribute']['id']}", headers=w)
    assert busy.status_code == 409


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"kind": "principal", "title": "X"}, "body.kind"),
        ({"kind": "graduate"}, "body.title"),
        ({"kind": "graduate", "title": "X", "adoption_date": "yesterday"}, "body.adoption_date"),
        ({"kind": "graduate", "title": "X", "status": "published"}, "body.status"),
    ],
)
async def test_bad_framework_bodies(
    http: httpx.AsyncClient, actors: Actors, body: dict[str, Any], loc: str
) -> None:
    response = await http.post(
        "/api/v1/frameworks", json=body, headers=await actors.a.headers("frameworks:write")
    )
    assert response.status_code == 422
    assert loc in [e["loc"] for e in response.json()["errors"]]


async def test_frameworks_are_isolated_by_district(http: httpx.AsyncClient, actors: Actors) -> None:
    made = await _draft_with_tree(http, actors.a)
    b = await actors.b.headers("frameworks:write")
    base = made["base"]
    assert (await http.get(base, headers=b)).status_code == 404
    assert (await http.patch(base, json={"title": "Mine"}, headers=b)).status_code == 404
    assert (await http.post(f"{base}/publish", headers=b)).status_code == 404
    assert (await http.post(f"{base}/attributes", json={"title": "x"}, headers=b)).status_code == 404
    assert (await http.get("/api/v1/frameworks", headers=b)).json()["total"] == 0
    reader = await actors.a.headers("frameworks:read")
    assert (await http.patch(base, json={"title": "x"}, headers=reader)).status_code == 403
