"""Roster over REST: learners and classes CRUD, filters, paging, references, tenant isolation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.factories import Actors, District


async def _school(http: httpx.AsyncClient, d: District, name: str = "Lincoln High") -> dict[str, Any]:
    response = await http.post(
        "/api/v1/orgs", json={"name": name, "type": "school"}, headers=await d.headers("roster:write")
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _term(http: httpx.AsyncClient, d: District) -> dict[str, Any]:
    response = await http.post(
        "/api/v1/academic-sessions",
        json={
            "title": "Fall 2026",
            "type": "semester",
            "start_date": "2026-08-24",
            "end_date": "2027-01-15",
            "school_year": 2027,
        },
        headers=await d.headers("roster:write"),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_learner_crud_and_filters(http: httpx.AsyncClient, actors: Actors) -> None:
    d = actors.a
    w = await d.headers("roster:write")
    school = await _school(http, d)
    other_school = await _school(http, d, "Other Middle")
    created = []
    for i, (given, family) in enumerate([("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing")]):
        response = await http.post(
            "/api/v1/learners",
            json={
                "given_name": given,
                "family_name": family,
                "email": f"{given.lower()}@example.org",
                "grades": ["09"],
                "org_ids": [school["id"] if i < 2 else other_school["id"]],
                "sourced_id": f"sis-{i}",
            },
            headers=w,
        )
        assert response.status_code == 201, response.text
        created.append(response.json())
    assert created[0]["org_ids"] == [school["id"]]
    assert created[0]["role"] == "student"

    listed = (await http.get("/api/v1/learners", headers=w)).json()
    assert [p["family_name"] for p in listed["items"]] == ["Hopper", "Lovelace", "Turing"]
    assert listed["total"] == 3

    by_school = (await http.get("/api/v1/learners", params={"school_id": school["id"]}, headers=w)).json()
    assert {p["id"] for p in by_school["items"]} == {created[0]["id"], created[1]["id"]}
    by_sourced = (await http.get("/api/v1/learners", params={"sourced_id": "sis-2"}, headers=w)).json()
    assert [p["id"] for p in by_sourced["items"]] == [created[2]["id"]]
    by_q = (await http.get("/api/v1/learners", params={"q": "HOP"}, headers=w)).json()
    assert [p["given_name"] for p in by_q["items"]] == ["Grace"]
    # LIKE wildcards in q are taken literally.
    assert (await http.get("/api/v1/learners", params={"q": "%"}, headers=w)).json()["total"] == 0

    page = (await http.get("/api/v1/learners", params={"limit": 2, "offset": 1}, headers=w)).json()
    assert [p["family_name"] for p in page["items"]] == ["Lovelace", "Turing"]
    assert (page["limit"], page["offset"], page["total"]) == (2, 1, 3)

    patched = await http.patch(
        f"/api/v1/learners/{created[0]['id']}",
        json={"preferred_name": "Countess", "status": "inactive", "org_ids": [other_school["id"]]},
        headers=w,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["preferred_name"] == "Countess"
    assert patched.json()["org_ids"] == [other_school["id"]]
    inactive = (await http.get("/api/v1/learners", params={"status": "inactive"}, headers=w)).json()
    assert [p["id"] for p in inactive["items"]] == [created[0]["id"]]

    conflict = await http.post(
        "/api/v1/learners", json={"given_name": "X", "family_name": "Y", "sourced_id": "sis-1"}, headers=w
    )
    assert conflict.status_code == 409
    assert conflict.json()["errors"][0]["loc"] == "body.sourced_id"


async def test_teachers_are_not_learners(http: httpx.AsyncClient, actors: Actors) -> None:
    w = await actors.a.headers("roster:write")
    teacher = await http.post(
        "/api/v1/people", json={"role": "teacher", "given_name": "T", "family_name": "Eacher"}, headers=w
    )
    assert teacher.status_code == 201
    assert (await http.get(f"/api/v1/learners/{teacher.json()['id']}", headers=w)).status_code == 404
    assert (await http.get(f"/api/v1/people/{teacher.json()['id']}", headers=w)).status_code == 200
    assert (await http.get("/api/v1/learners", headers=w)).json()["total"] == 0


async def test_class_crud_filters_and_enrollments(http: httpx.AsyncClient, actors: Actors) -> None:
    d = actors.a
    w = await d.headers("roster:write")
    school = await _school(http, d)
    term = await _term(http, d)
    created = await http.post(
        "/api/v1/classes",
        json={
            "title": "Biology 1",
            "school_id": school["id"],
            "academic_session_id": term["id"],
            "class_code": "BIO-1",
            "grades": ["09", "10"],
            "subjects": ["Science"],
        },
        headers=w,
    )
    assert created.status_code == 201, created.text
    klass = created.json()
    learner = (
        await http.post("/api/v1/learners", json={"given_name": "A", "family_name": "B"}, headers=w)
    ).json()
    enrolled = await http.post(
        "/api/v1/enrollments",
        json={"class_id": klass["id"], "person_id": learner["id"], "role": "student"},
        headers=w,
    )
    assert enrolled.status_code == 201, enrolled.text
    twice = await http.post(
        "/api/v1/enrollments",
        json={"class_id": klass["id"], "person_id": learner["id"], "role": "student"},
        headers=w,
    )
    assert twice.status_code == 409
    in_class = (await http.get("/api/v1/learners", params={"class_id": klass["id"]}, headers=w)).json()
    assert [p["id"] for p in in_class["items"]] == [learner["id"]]
    of_learner = (await http.get("/api/v1/classes", params={"person_id": learner["id"]}, headers=w)).json()
    assert [c["id"] for c in of_learner["items"]] == [klass["id"]]
    by_session = (
        await http.get("/api/v1/classes", params={"academic_session_id": term["id"]}, headers=w)
    ).json()
    assert by_session["total"] == 1
    renamed = await http.patch(f"/api/v1/classes/{klass['id']}", json={"title": "Biology I"}, headers=w)
    assert renamed.status_code == 200 and renamed.json()["title"] == "Biology I"
    assert renamed.json()["updated_at"] >= klass["updated_at"]
    null_title = await http.patch(f"/api/v1/classes/{klass['id']}", json={"title": None}, headers=w)
    assert null_title.status_code == 422
    assert null_title.json()["errors"][0]["loc"] == "body.title"


async def test_references_must_exist_in_the_callers_tenant(http: httpx.AsyncClient, actors: Actors) -> None:
    school_b = await _school(http, actors.b)
    w = await actors.a.headers("roster:write")
    klass = await http.post("/api/v1/classes", json={"title": "X", "school_id": school_b["id"]}, headers=w)
    assert klass.status_code == 422
    assert klass.json()["code"] == "invalid_reference"
    assert klass.json()["errors"][0]["loc"] == "body.school_id"
    learner = await http.post(
        "/api/v1/learners",
        json={"given_name": "A", "family_name": "B", "org_ids": [school_b["id"]]},
        headers=w,
    )
    assert learner.status_code == 422
    assert learner.json()["errors"][0]["loc"] == "body.org_ids"
    # Nothing was half-written.
    assert (await http.get("/api/v1/learners", headers=w)).json()["total"] == 0


async def test_one_district_never_sees_anothers_roster(http: httpx.AsyncClient, actors: Actors) -> None:
    a_w = await actors.a.headers("roster:write")
    school = await _school(http, actors.a)
    learner = (
        await http.post("/api/v1/learners", json={"given_name": "A", "family_name": "B"}, headers=a_w)
    ).json()
    klass = (
        await http.post("/api/v1/classes", json={"title": "Art", "school_id": school["id"]}, headers=a_w)
    ).json()
    b = await actors.b.headers("roster:write")
    for path in (
        f"/api/v1/learners/{learner['id']}",
        f"/api/v1/classes/{klass['id']}",
        f"/api/v1/orgs/{school['id']}",
        f"/api/v1/people/{learner['id']}",
    ):
        got = await http.get(path, headers=b)
        assert got.status_code == 404, path
        patched = await http.patch(path, json={"status": "inactive"}, headers=b)
        assert patched.status_code == 404, path
    for path in (
        "/api/v1/learners",
        "/api/v1/classes",
        "/api/v1/orgs",
        "/api/v1/people",
        "/api/v1/enrollments",
    ):
        assert (await http.get(path, headers=b)).json()["total"] == 0, path
    filtered = await http.get("/api/v1/learners", params={"school_id": school["id"]}, headers=b)
    assert filtered.json()["total"] == 0
    enroll = await http.post(
        "/api/v1/enrollments",
        json={"class_id": klass["id"], "person_id": learner["id"], "role": "student"},
        headers=b,
    )
    assert enroll.status_code == 422
    # A's data is untouched by B's attempts.
    assert (await http.get(f"/api/v1/learners/{learner['id']}", headers=a_w)).json()["status"] == "active"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"given_name": "A"}, "body.family_name"),
        ({"given_name": 5, "family_name": "B"}, "body.given_name"),
        ({"given_name": "A", "family_name": "B", "grades": ["13th"]}, "body.grades.0"),
        ({"given_name": "A", "family_name": "B", "email": "nope"}, "body.email"),
        ({"given_name": "A", "family_name": "B", "favourite_colour": "blue"}, "body.favourite_colour"),
        ({"given_name": "A", "family_name": "B", "org_ids": ["not-a-uuid"]}, "body.org_ids.0"),
        ({"given_name": "", "family_name": "B"}, "body.given_name"),
        ({"given_name": "A" * 256, "family_name": "B"}, "body.given_name"),
        ({"given_name": "A", "family_name": "B", "status": "deleted"}, "body.status"),
        ({"given_name": "A", "family_name": "B", "role": "teacher"}, "body.role"),
    ],
)
async def test_bad_learner_bodies_name_the_field(
    http: httpx.AsyncClient, actors: Actors, body: dict[str, Any], loc: str
) -> None:
    response = await http.post("/api/v1/learners", json=body, headers=await actors.a.headers("roster:write"))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert loc in [e["loc"] for e in problem["errors"]]
    assert problem["type"].endswith("validation_failed")


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 201}, "query.limit"),
        ({"offset": -1}, "query.offset"),
        ({"limit": "ten"}, "query.limit"),
        ({"status": "gone"}, "query.status"),
        ({"school_id": "x"}, "query.school_id"),
    ],
)
async def test_bad_query_parameters(
    http: httpx.AsyncClient, actors: Actors, params: dict[str, Any], loc: str
) -> None:
    response = await http.get(
        "/api/v1/learners", params=params, headers=await actors.a.headers("roster:read")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == loc


async def test_bad_path_id_is_422_not_500(http: httpx.AsyncClient, actors: Actors) -> None:
    response = await http.get("/api/v1/learners/not-a-uuid", headers=await actors.a.headers("roster:read"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "path.learner_id"


async def test_session_dates_are_checked(http: httpx.AsyncClient, actors: Actors) -> None:
    response = await http.post(
        "/api/v1/academic-sessions",
        json={
            "title": "T",
            "type": "term",
            "start_date": "2027-01-01",
            "end_date": "2026-01-01",
            "school_year": 2027,
        },
        headers=await actors.a.headers("roster:write"),
    )
    assert response.status_code == 422
    assert "end_date" in response.json()["errors"][0]["message"]


async def test_unknown_learner_is_404(http: httpx.AsyncClient, actors: Actors) -> None:
    response = await http.get(
        f"/api/v1/learners/{uuid.uuid4()}", headers=await actors.a.headers("roster:read")
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("path_kind", "body", "loc"),
    [
        ("learner", {"grades": None}, "body.grades"),
        ("learner", {"given_name": None}, "body.given_name"),
        ("learner", {"status": None}, "body.status"),
        ("org", {"name": None}, "body.name"),
        ("org", {"status": None}, "body.status"),
    ],
)
async def test_null_for_required_fields_is_422(
    http: httpx.AsyncClient, actors: Actors, path_kind: str, body: dict[str, Any], loc: str
) -> None:
    w = await actors.a.headers("roster:write")
    if path_kind == "learner":
        made = await http.post("/api/v1/learners", json={"given_name": "A", "family_name": "B"}, headers=w)
        path = f"/api/v1/learners/{made.json()['id']}"
    else:
        path = f"/api/v1/orgs/{(await _school(http, actors.a))['id']}"
    response = await http.patch(path, json=body, headers=w)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == loc
    assert (await http.get(path, headers=w)).status_code == 200
