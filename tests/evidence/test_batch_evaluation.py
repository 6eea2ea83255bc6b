"""The tenant-wide batch evaluation: queued over REST, run by the jobs backend, idempotent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import func
from sqlmodel import col, select

from service.awards.models import Award
from service.awards.schemas import AchievementCreate
from service.awards.service import AwardService
from service.config import Settings
from service.db import Database, declare_write_intent
from service.evidence.schemas import EvidenceCreate
from service.evidence.service import EvidenceService
from service.jobs.backends import InProcessBackend, activate, deactivate
from tests.factories import Actors, make_portrait, make_tenant
from tests.jobs.helpers import wait_for_state


async def test_evaluate_endpoint_queues_a_job_and_rule_changes_do_too(
    http: httpx.AsyncClient, actors: Actors
) -> None:
    h = await actors.a.headers("awards:write")
    queued = await http.post("/api/v1/awards/evaluate", json={}, headers=h)
    assert queued.status_code == 202, queued.text
    job = queued.json()
    assert job["kind"] == "awards.evaluate" and job["area"] == "awards" and job["state"] == "queued"
    assert (await http.get(f"/api/v1/jobs/{job['id']}", headers=h)).status_code == 200
    assert (
        await http.get(f"/api/v1/jobs/{job['id']}", headers=await actors.b.headers("awards:read"))
    ).status_code == 404
    unknown = await http.post(
        "/api/v1/awards/evaluate", json={"achievement_id": str(uuid.uuid4())}, headers=h
    )
    assert unknown.status_code == 404


async def test_batch_job_awards_learners_who_already_meet_a_new_rule(
    committed_db: Database, settings: Settings
) -> None:
    db = committed_db
    env = settings.model_copy(update={"database_url": str(db.url)})
    async with db.session() as session:
        tenant = await make_tenant(session, settings)
        p = await make_portrait(session, tenant.id, competencies=1, learners=4)
        for learner in p.learner_ids[:3]:
            for klass in p.class_ids[:2]:
                await EvidenceService(session, tenant.id).create_one(
                    EvidenceCreate(
                        learner_id=learner,
                        competency_id=p.competency_ids[0],
                        source="rubric",
                        level=2,
                        class_id=klass,
                        observed_at=datetime(2026, 10, 1, tzinfo=UTC),
                    ),
                    created_by="test",
                )
        # The badge is defined after the evidence arrived: nothing is awarded incrementally.
        service = AwardService(session, tenant.id)
        achievement = await service.create_achievement(
            AchievementCreate(
                title="Late badge",
                description="d",
                criteria="c",
                rule={
                    "type": "evidence",
                    "competency_ids": [str(p.competency_ids[0])],
                    "min_level": 2,
                    "min_count": 2,
                },
            )
        )
        job = await service.enqueue_evaluation(achievement.id)
        tenant_id, job_id = tenant.id, job.id
        await session.commit()

    async def awards() -> int:
        async with db.session() as session:
            return int(
                (
                    await session.exec(
                        select(func.count()).select_from(Award).where(col(Award.tenant_id) == tenant_id)
                    )
                ).one()
            )

    assert await awards() == 0
    backend = InProcessBackend(db, env, concurrency=1, tick_interval=3600)
    await backend.start()
    activate(backend)
    try:
        await backend.resume()
        done = await wait_for_state(db, job_id, "succeeded", "failed")
        assert done.state == "succeeded", done.error
        assert done.report == {"learners": 4, "awards_created": 3}
        assert await awards() == 3
        # Running it again changes nothing. (Issuance jobs of the new awards may be writing: a writer
        # declares itself first, so SQLite waits for the lock instead of failing an upgrade.)
        async with db.session() as session:
            await declare_write_intent(session)
            again = await AwardService(session, tenant_id).enqueue_evaluation(achievement.id)
            await session.commit()
        await backend.resume()
        second = await wait_for_state(db, again.id, "succeeded", "failed")
        assert second.report == {"learners": 4, "awards_created": 0}
        assert await awards() == 3
    finally:
        deactivate(backend)
        await backend.stop()


async def test_a_rule_change_queues_a_batch_evaluation(
    http: httpx.AsyncClient, actors: Actors, session
) -> None:  # type: ignore[no-untyped-def]
    p = await make_portrait(session, actors.a.tenant.id, competencies=1, learners=1)
    h = await actors.a.headers("awards:write")
    rule = {"type": "evidence", "competency_ids": [str(p.competency_ids[0])], "min_level": 2, "min_count": 3}
    made = await http.post(
        "/api/v1/achievements",
        json={"title": "B", "description": "d", "criteria": "c", "rule": rule},
        headers=h,
    )
    assert made.status_code == 201
    before = (await http.get("/api/v1/jobs", params={"kind": "awards.evaluate"}, headers=h)).json()["total"]
    changed = await http.patch(
        f"/api/v1/achievements/{made.json()['id']}", json={"rule": {**rule, "min_count": 2}}, headers=h
    )
    assert changed.status_code == 200
    after = (await http.get("/api/v1/jobs", params={"kind": "awards.evaluate"}, headers=h)).json()["total"]
    assert after == before + 1
