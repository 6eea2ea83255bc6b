"""Courses and course records over REST: CRUD, validation naming the field, Idempotency-Key, paging,
withdrawal, CSV import (all or nothing, errors by line and column) and tenant isolation."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import Actors, District


async def _learner(http: httpx.AsyncClient, d: District, sourced_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"given_name": "Ada", "family_name": "Lovelace"}
    if sourced_id:
        body["sourced_id"] = sourced_id
    response = await http.post("/api/v1/learners", json=body, headers=await d.headers("roster:write"))
    assert response.status_code == 201, response.text
    return dict(response.json())


RECORD = {
    "course_title": "World History",
    "course_code": "HIS201",
    "school_year": "2024-2025",
    "term_title": "Spring 2025",
    "school_name": "Jefferson Middle School",
    "grade": "B+",
    "grade_numeric": 88,
    "grade_scale": "A-F",
    "credits_attempted": 1,
    "credits_earned": 1,
}


async def test_course_record_lifecycle(http: httpx.AsyncClient, actors: Actors) -> None:
    d = actors.a
    w, r = await d.headers("roster:write"), await d.headers("roster:read")
    learner = await _learner(http, d)
    course = await http.post(
        "/api/v1/courses",
        json={"title": "Algebra I", "course_code": "MATH101", "subject": "Mathematics", "credits": 1.0},
        headers=w,
    )
    assert course.status_code == 201, course.text
    listed = await http.get("/api/v1/courses", params={"q": "math"}, headers=r)
    assert listed.status_code == 200 and [c["title"] for c in listed.json()["items"]] == ["Algebra I"]

    url = f"/api/v1/learners/{learner['id']}/course-records"
    first = await http.post(url, json=RECORD, headers={**w, "Idempotency-Key": "rec-1"})
    assert first.status_code == 201, first.text
    replay = await http.post(url, json=RECORD, headers={**w, "Idempotency-Key": "rec-1"})
    assert replay.status_code == 201 and replay.json()["id"] == first.json()["id"]
    assert replay.headers.get("idempotent-replayed") == "true"
    linked = await http.post(
        url,
        json={
            "course_id": course.json()["id"],
            "school_year": "2025-2026",
            "grade": "A",
            "status": "in_progress",
        },
        headers=w,
    )
    assert linked.status_code == 201, linked.text
    assert (linked.json()["course_title"], linked.json()["course_code"]) == ("Algebra I", "MATH101")

    page = await http.get(url, params={"limit": 1}, headers=r)
    assert page.status_code == 200 and page.json()["total"] == 2
    assert page.json()["items"][0]["course_title"] == "World History"

    record_url = f"/api/v1/course-records/{first.json()['id']}"
    patched = await http.patch(record_url, json={"grade": "A-", "grade_numeric": 91}, headers=w)
    assert patched.status_code == 200 and patched.json()["grade"] == "A-"
    withdrawn = await http.delete(record_url, headers=w)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    fetched = await http.get(record_url, headers=r)
    assert fetched.json()["status"] == "withdrawn"
    current = await http.get(url, params={"status": "in_progress"}, headers=r)
    assert [i["course_title"] for i in current.json()["items"]] == ["Algebra I"]


async def test_validation_names_the_field(http: httpx.AsyncClient, actors: Actors) -> None:
    d = actors.a
    w = await d.headers("roster:write")
    learner = await _learner(http, d)
    url = f"/api/v1/learners/{learner['id']}/course-records"
    cases = [
        ({k: v for k, v in RECORD.items() if k != "grade"}, "body.grade"),
        ({**RECORD, "credits_earned": -1}, "body.credits_earned"),
        ({**RECORD, "status": "passed"}, "body.status"),
        ({k: v for k, v in RECORD.items() if k != "course_title"}, "body.course_title"),
        ({**RECORD, "course_id": "00000000-0000-0000-0000-000000000001"}, "body.course_id"),
    ]
    for body, loc in cases:
        response = await http.post(url, json=body, headers=w)
        assert response.status_code == 422, (loc, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert loc in [e["loc"] for e in response.json()["errors"]], response.text
    created = await http.post(url, json=RECORD, headers=w)
    bad = await http.patch(f"/api/v1/course-records/{created.json()['id']}", json={"grade": None}, headers=w)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "body.grade"
    negative = await http.post("/api/v1/courses", json={"title": "X", "credits": -0.5}, headers=w)
    assert negative.status_code == 422 and negative.json()["errors"][0]["loc"] == "body.credits"
    listed = await http.get(url, headers=await d.headers("roster:read"))
    assert listed.json()["total"] == 1  # nothing of the refused requests was written


async def test_tenant_isolation(http: httpx.AsyncClient, actors: Actors) -> None:
    a, b = actors.a, actors.b
    learner_b = await _learner(http, b)
    record_b = await http.post(
        f"/api/v1/learners/{learner_b['id']}/course-records",
        json=RECORD,
        headers=await b.headers("roster:write"),
    )
    course_b = await http.post(
        "/api/v1/courses", json={"title": "B only"}, headers=await b.headers("roster:write")
    )
    wa, ra = await a.headers("roster:write"), await a.headers("roster:read")
    url = f"/api/v1/learners/{learner_b['id']}/course-records"
    assert (await http.get(url, headers=ra)).status_code == 404
    assert (await http.post(url, json=RECORD, headers=wa)).status_code == 404
    record_url = f"/api/v1/course-records/{record_b.json()['id']}"
    assert (await http.get(record_url, headers=ra)).status_code == 404
    assert (await http.patch(record_url, json={"grade": "F"}, headers=wa)).status_code == 404
    assert (await http.delete(record_url, headers=wa)).status_code == 404
    assert (await http.get(f"/api/v1/courses/{course_b.json()['id']}", headers=ra)).status_code == 404
    assert (await http.get("/api/v1/courses", headers=ra)).json()["total"] == 0
    learner_a = await _learner(http, a)
    linked = await http.post(
        f"/api/v1/learners/{learner_a['id']}/course-records",
        json={**RECORD, "course_id": course_b.json()["id"]},
        headers=wa,
    )
    assert linked.status_code == 422 and linked.json()["errors"][0]["loc"] == "body.course_id"
    csv_body = f"learner_id,course_title,school_year,grade\n{learner_b['id']},Hack,2025-2026,A\n"
    imported = await http.post(
        "/api/v1/course-records/import", content=csv_body, headers={**wa, "Content-Type": "text/csv"}
    )
    assert imported.status_code == 422 and imported.json()["errors"][0]["loc"] == "body.line[2].learner_id"
    still = await http.get(record_url, headers=await b.headers("roster:read"))
    assert still.json()["grade"] == "B+" and still.json()["status"] == "completed"
    # Scopes: reading needs roster:read, writing roster:write.
    assert (await http.get(url, headers=await b.headers("evidence:read"))).status_code == 403


async def test_csv_import_all_or_nothing(http: httpx.AsyncClient, actors: Actors) -> None:
    d = actors.a
    w, r = await d.headers("roster:write"), await d.headers("roster:read")
    csv_headers = {**w, "Content-Type": "text/csv"}
    ada = await _learner(http, d, "sis-ada")
    grace = await _learner(http, d, "sis-grace")
    course = await http.post("/api/v1/courses", json={"title": "Biology", "sourced_id": "c-bio"}, headers=w)
    assert course.status_code == 201
    good = (
        "learner_sourced_id,course_sourced_id,course_title,course_code,school_year,term_title,school_name,"
        "grade,grade_numeric,grade_scale,credits_attempted,credits_earned,status,completed_on,source_ref\n"
        "sis-ada,,Geometry,MATH201,2023-2024,Fall 2023,Prior Academy,A,95,A-F,1,1,completed,2023-12-20,t-1\n"
        "sis-ada,c-bio,,,2023-2024,Spring 2024,Prior Academy,B,85,A-F,1,1,,,t-2\n"
        "sis-grace,,Spanish I,SPA101,2023-2024,,Other School,P,,P/F,0.5,0.5,completed,,\n"
    )
    bad = (
        good.replace("sis-grace,", "sis-nobody,")
        .replace(",A,95,", ",,95,")
        .replace("1,1,,,t-2", "1,-1,,,t-2")
    )
    refused = await http.post("/api/v1/course-records/import", content=bad, headers=csv_headers)
    assert refused.status_code == 422, refused.text
    locs = {e["loc"] for e in refused.json()["errors"]}
    assert {"body.line[2].grade", "body.line[3].credits_earned"} <= locs, locs
    for learner in (ada, grace):
        listed = await http.get(f"/api/v1/learners/{learner['id']}/course-records", headers=r)
        assert listed.json()["total"] == 0  # nothing written
    unknown = await http.post(
        "/api/v1/course-records/import",
        content=good.replace("sis-grace,", "sis-nobody,"),
        headers=csv_headers,
    )
    assert unknown.status_code == 422
    assert [e["loc"] for e in unknown.json()["errors"]] == ["body.line[4].learner_sourced_id"]

    imported = await http.post("/api/v1/course-records/import", content=good, headers=csv_headers)
    assert imported.status_code == 200, imported.text
    assert (imported.json()["created"], imported.json()["updated"]) == (3, 0)
    records = (await http.get(f"/api/v1/learners/{ada['id']}/course-records", headers=r)).json()["items"]
    assert [(x["course_title"], x["source"], x["grade"]) for x in records] == [
        ("Geometry", "csv", "A"),
        ("Biology", "csv", "B"),
    ]
    assert records[1]["course_id"] == course.json()["id"] and records[0]["completed_on"] == "2023-12-20"
    # A corrected file replaces the rows it names by source_ref (and adds the one without a ref again).
    again = await http.post(
        "/api/v1/course-records/import", content=good.replace(",A,95,", ",A-,91,"), headers=csv_headers
    )
    assert (again.json()["created"], again.json()["updated"]) == (1, 2)
    records = (await http.get(f"/api/v1/learners/{ada['id']}/course-records", headers=r)).json()["items"]
    assert records[0]["grade"] == "A-" and len(records) == 2

    for body, content_type, loc in [
        ("name,grade\nx,A\n", "text/csv", "body.line[1].header"),
        ("learner_id,course_title,school_year\n", "text/csv", "body.line[1].header"),
        ("learner_id,course_title,school_year,grade\n", "text/csv", "body.line[1].header"),
        (b"learner_id,course_title,school_year,grade\n\xff\xfe,x,y,z\n", "text/csv", "body.line[1].header"),
    ]:
        response = await http.post(
            "/api/v1/course-records/import", content=body, headers={**w, "Content-Type": content_type}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == loc
    wrong_type = await http.post(
        "/api/v1/course-records/import", content=good, headers={**w, "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    rows = "learner_sourced_id,course_title,school_year,grade\n" + "sis-ada,X,2025-2026,A\n" * 5001
    too_many = await http.post("/api/v1/course-records/import", content=rows, headers=csv_headers)
    assert too_many.status_code in (413, 422) and "5000" in too_many.text.replace(",", "")
