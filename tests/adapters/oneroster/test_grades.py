"""Results become evidence through grade maps (explicit, by category, or by CASE learning objectives),
with cut scores to rubric levels; changed results supersede their evidence; a re-run adds nothing."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlmodel import col, select

from service.adapters.oneroster.grades import external_ref, level_for
from service.adapters.oneroster.schemas import CutScore, GradeMapCreate
from service.adapters.oneroster.service import GradeMapService
from service.evidence.models import Evidence
from service.jobs.service import transaction
from tests.adapters.oneroster.fake_server import small_district
from tests.adapters.oneroster.helpers import SyncEnv
from tests.factories import Actors, make_portrait

CUTS = [
    CutScore(min_percent=0, level=0),
    CutScore(min_percent=60, level=1),
    CutScore(min_percent=75, level=2),
    CutScore(min_percent=90, level=3),
]


@pytest.mark.parametrize(
    ("score", "low", "high", "level"),
    [
        (50, 0, 100, 0),
        (60, 0, 100, 1),
        (74.99, 0, 100, 1),
        (75, None, None, 2),
        (9, 0, 10, 3),
        (120, 0, 100, 3),
        (-5, 0, 100, 0),
        (5, 5, 5, None),
    ],
)
def test_cut_scores(score: float, low: float | None, high: float | None, level: int | None) -> None:
    cuts = tuple((c.min_percent, c.level) for c in CUTS)
    assert level_for(score, low, high, cuts) == level


async def _evidence(env: SyncEnv) -> dict[str, Evidence]:
    async with env.db.session() as session:
        rows = (await session.exec(select(Evidence).where(col(Evidence.tenant_id) == env.tenant_id))).all()
        return {f"{r.external_ref}|{r.status}|{r.created_at.isoformat()}": r for r in rows}


async def test_results_become_evidence_and_changes_supersede(env: SyncEnv) -> None:
    async with transaction(env.db) as session:
        portrait = await make_portrait(session, env.tenant_id, competencies=2, learners=1, classes=1)
        grades = GradeMapService(session, env.tenant_id)
        await grades.create(
            GradeMapCreate(
                line_item_sourced_id="li-0", competency_id=portrait.competency_ids[0], cut_scores=CUTS
            )
        )
        await grades.create(GradeMapCreate(cut_scores=CUTS))  # CASE-linked line items use these
    small_district(env.fake)  # scores 50, 57, 64, 71, 78, 85 for students 0..5
    # line item 1 names the second competency by its CASE identifier
    env.fake.update(
        "lineItems",
        "li-1",
        learningObjectiveSet=[{"source": "case", "learningObjectiveIds": [str(portrait.competency_ids[1])]}],
    )
    job = await env.run("full")
    assert job.state == "succeeded", job.error
    assert job.report is not None
    assert job.report["evidence"] == {"created": 12, "superseded": 0, "awards_created": 0}, job.report
    rows = list((await _evidence(env)).values())
    by_ref = {r.external_ref: r for r in rows}
    first = by_ref[external_ref("res-0-0", portrait.competency_ids[0])]
    assert first.source == "oneroster_result" and first.level_position == 0 and first.score == 50.0
    assert by_ref[external_ref("res-0-2", portrait.competency_ids[0])].level_position == 1  # 64
    assert by_ref[external_ref("res-0-4", portrait.competency_ids[0])].level_position == 2  # 78
    assert by_ref[external_ref("res-1-5", portrait.competency_ids[1])].level_position == 2  # 85
    assert first.class_id is not None and first.academic_session_id is not None
    assert first.observed_at.date().isoformat() == "2026-10-01"

    rerun = await env.run("full")
    assert rerun.report is not None and rerun.report["evidence"] == {}
    assert len(await _evidence(env)) == 12

    env.fake.update("results", "res-0-0", score=95)
    delta = await env.run("delta")
    assert delta.report is not None and delta.report["evidence"]["superseded"] == 1
    rows = list((await _evidence(env)).values())
    ref = external_ref("res-0-0", portrait.competency_ids[0])
    mine = sorted((r for r in rows if r.external_ref == ref), key=lambda r: r.created_at)
    assert [(r.status, r.level_position) for r in mine] == [("withdrawn", 0), ("active", 3)]
    assert mine[1].supersedes_id == mine[0].id and mine[0].superseded_by_id == mine[1].id

    # results the provider deletes (tombstone, or gone from a full sync) take their evidence with them
    env.fake.tombstone("results", "res-0-1")
    env.fake.hard_delete("results", "res-1-3")
    full = await env.run("full")
    assert full.state == "succeeded", full.error
    assert full.report is not None and full.report["evidence"] == {"withdrawn": 2}
    rows = list((await _evidence(env)).values())
    for sid, competency in (("res-0-1", portrait.competency_ids[0]), ("res-1-3", portrait.competency_ids[1])):
        states = {r.status for r in rows if r.external_ref == external_ref(sid, competency)}
        assert states == {"withdrawn"}, sid
    still = [r for r in rows if r.external_ref == external_ref("res-0-3", portrait.competency_ids[0])]
    assert [r.status for r in still] == ["active"]


async def test_grade_maps_rest(http: httpx.AsyncClient, actors: Actors, session: object) -> None:
    from sqlmodel.ext.asyncio.session import AsyncSession

    assert isinstance(session, AsyncSession)
    portrait = await make_portrait(session, actors.a.tenant.id, competencies=1, learners=1, classes=1)
    h = await actors.a.headers("sync:write")
    cuts = [{"min_percent": 0, "level": 0}, {"min_percent": 70, "level": 2}]
    made = await http.post(
        "/api/v1/oneroster/grade-maps",
        json={
            "line_item_sourced_id": "li-9",
            "competency_id": str(portrait.competency_ids[0]),
            "cut_scores": cuts,
        },
        headers=h,
    )
    assert made.status_code == 201, made.text
    again = await http.post(
        "/api/v1/oneroster/grade-maps",
        json={
            "line_item_sourced_id": "li-9",
            "competency_id": str(portrait.competency_ids[0]),
            "cut_scores": cuts,
        },
        headers=h,
    )
    assert again.status_code == 409
    unknown = await http.post(
        "/api/v1/oneroster/grade-maps",
        json={"category_sourced_id": "c", "competency_id": str(uuid.uuid4()), "cut_scores": cuts},
        headers=h,
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == "body.competency_id"
    unordered = await http.post(
        "/api/v1/oneroster/grade-maps",
        json={
            "category_sourced_id": "c",
            "competency_id": str(portrait.competency_ids[0]),
            "cut_scores": list(reversed(cuts)),
        },
        headers=h,
    )
    assert unordered.status_code == 422
    other = await actors.b.headers("sync:write")
    foreign = await http.post(
        "/api/v1/oneroster/grade-maps",
        json={
            "line_item_sourced_id": "x",
            "competency_id": str(portrait.competency_ids[0]),
            "cut_scores": cuts,
        },
        headers=other,
    )
    assert foreign.status_code == 422  # another district's competency does not exist for them
    assert (await http.get("/api/v1/oneroster/grade-maps", headers=other)).json()["items"] == []
    assert (
        await http.delete(f"/api/v1/oneroster/grade-maps/{made.json()['id']}", headers=other)
    ).status_code == 404
    listed = (await http.get("/api/v1/oneroster/grade-maps", headers=h)).json()
    assert listed["total"] == 1 and listed["limit"] == 50 and listed["offset"] == 0
    assert [m["line_item_sourced_id"] for m in listed["items"]] == ["li-9"]
    assert (
        await http.delete(f"/api/v1/oneroster/grade-maps/{made.json()['id']}", headers=h)
    ).status_code == 204
