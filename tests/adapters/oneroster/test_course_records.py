"""OneRoster final results become course records on every sync (full and delta): the per-connection
setting picks the final line items (category or title pattern); a changed result updates its record, a
tombstoned or vanished one withdraws it; a re-run changes nothing. Against the fake provider."""

from __future__ import annotations

import uuid

import httpx
from sqlmodel import col, select

from service.adapters.oneroster.course_records import FinalResultsService, FinalRule, school_year_label
from service.adapters.oneroster.models import FinalResultsSetting
from service.adapters.oneroster.schemas import FinalResultsUpdate
from service.jobs.service import transaction
from service.roster.models import CourseRecord
from tests.adapters.oneroster.fake_server import small_district
from tests.adapters.oneroster.helpers import SyncEnv
from tests.factories import Actors


def test_final_rule() -> None:
    setting = FinalResultsSetting(
        connection_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        category_sourced_ids=["cat-final"],
        category_titles=["Semester Grade"],
        line_item_title_pattern="*final*",
    )
    rule = FinalRule.of(setting)
    assert rule.is_final("Unit 1 quiz", "cat-final", None)
    assert rule.is_final("Unit 1 quiz", None, "semester grade")
    assert rule.is_final("Biology FINAL grade", None, None)
    assert not rule.is_final("Lab report", "cat-1", "Projects")
    assert school_year_label(2027) == "2026-2027"


async def _records(env: SyncEnv) -> dict[str, CourseRecord]:
    async with env.db.session() as session:
        query = select(CourseRecord).where(col(CourseRecord.tenant_id) == env.tenant_id)
        return {r.source_ref or "": r for r in (await session.exec(query)).all()}


async def _set(env: SyncEnv, data: FinalResultsUpdate) -> dict[str, int]:
    async with transaction(env.db) as session:
        read = await FinalResultsService(session, env.tenant_id).put(env.connection_id, data)
    return read.course_records


async def test_final_results_become_course_records(env: SyncEnv) -> None:
    small_district(env.fake, students=3, classes=2)  # line items li-0, li-1 in category cat-1 "Projects"
    env.fake.put(
        "courses",
        {
            "sourcedId": "course-1",
            "title": "Biology",
            "courseCode": "BIO",
            "subjects": ["Science"],
            "grades": ["10"],
            "org": {"sourcedId": "school-1"},
        },
    )
    env.fake.update("lineItems", "li-1", title="Quiz 1", category=None)
    await _set(env, FinalResultsUpdate(category_titles=["projects"]))
    job = await env.run("full")
    assert job.state == "succeeded", job.error
    assert job.report is not None and job.report["course_records"] == {"created": 3}, job.report
    records = await _records(env)
    assert set(records) == {"res-0-0", "res-0-1", "res-0-2"}  # li-1 is no longer in the final category
    first = records["res-0-0"]
    assert (first.course_title, first.course_code, first.subject) == ("Biology", "BIO", "Science")
    assert (first.term_title, first.school_year, first.grade, first.grade_numeric) == (
        "Fall",
        "2026-2027",
        "50",
        50.0,
    )
    assert (first.grade_scale, first.status, first.source) == ("0-100", "completed", "oneroster")
    assert first.course_id is not None and first.completed_on is not None

    # A re-run with nothing new changes nothing.
    job = await env.run("delta")
    assert job.report is not None and job.report["course_records"] == {}, job.report
    # Delta: a changed score updates its record, a tombstone withdraws one, a new final line item adds.
    env.fake.update("results", "res-0-1", score=99, scoreStatus="fully graded")
    env.fake.tombstone("results", "res-0-2")
    env.fake.update("lineItems", "li-1", title="Semester final")
    await _set(env, FinalResultsUpdate(category_titles=["projects"], line_item_title_pattern="*final*"))
    job = await env.run("delta")
    assert job.state == "succeeded", job.error
    records = await _records(env)
    assert records["res-0-1"].grade == "99" and records["res-0-1"].status == "completed"
    assert records["res-0-2"].status == "withdrawn"
    assert {"res-1-0", "res-1-1", "res-1-2"} <= set(records)  # applied when the setting was saved
    assert job.report is not None and job.report["course_records"].get("updated") == 1, job.report
    assert job.report["course_records"].get("withdrawn") == 1, job.report

    # A full sync that no longer sees a result withdraws its record too.
    env.fake.hard_delete("results", "res-1-0")
    job = await env.run("full")
    assert job.state == "succeeded", job.error
    assert (await _records(env))["res-1-0"].status == "withdrawn"


async def test_setting_over_rest_and_isolation(http: httpx.AsyncClient, actors: Actors) -> None:
    w = await actors.a.headers("sync:write", "sync:read")
    created = await http.post(
        "/api/v1/oneroster/connections",
        json={
            "base_url": "https://8.8.8.8/",
            "token_url": "https://8.8.8.8/oauth/token",
            "client_id": "id",
            "client_secret": "secret",
        },
        headers=w,
    )
    assert created.status_code == 201, created.text
    url = f"/api/v1/oneroster/connections/{created.json()['id']}/final-results"
    empty = await http.get(url, headers=w)
    assert empty.status_code == 200 and empty.json()["category_titles"] == []
    saved = await http.put(
        url, json={"category_titles": ["Final"], "line_item_title_pattern": "*final*"}, headers=w
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["course_records"] == {"created": 0, "updated": 0, "unchanged": 0}
    assert (await http.get(url, headers=w)).json()["line_item_title_pattern"] == "*final*"
    bad = await http.put(url, json={"min_passing_percent": 120}, headers=w)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "body.min_passing_percent"
    other = await actors.b.headers("sync:write", "sync:read")
    assert (await http.get(url, headers=other)).status_code == 404
    assert (await http.put(url, json={"category_titles": ["x"]}, headers=other)).status_code == 404
