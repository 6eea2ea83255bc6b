"""Cohort transcripts: the batch job (progress, report, transcripts tagged with the job, errors per
learner), cohort selection by school grade / class / list, and a cohort too large refused or paged."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.db import Database, bulk_insert
from service.jobs.backends import InProcessBackend, activate, deactivate
from service.jobs.service import transaction
from service.roster.models import Org, Person, PersonOrg
from service.transcripts.models import Transcript
from service.transcripts.schemas import TranscriptBatch
from service.transcripts.service import TranscriptService
from tests.factories import Actors, make_tenant
from tests.jobs.helpers import wait_for_state
from tests.transcripts.helpers import Seeded, official_errors, seed


@dataclass(frozen=True)
class Cohort:
    """A committed tenant with three seeded learners, and the settings that point at its database."""

    db: Database
    env: Settings
    tenant_id: uuid.UUID
    seeded: Seeded


@pytest.fixture
async def cohort(committed_db: Database, settings: Settings) -> Cohort:
    env = settings.model_copy(update={"database_url": str(committed_db.url)})
    async with transaction(committed_db) as session:
        tenant_id = (await make_tenant(session, settings)).id
    async with committed_db.session() as session:
        seeded = await seed(session, tenant_id, env, learners=3)
    return Cohort(committed_db, env, tenant_id, seeded)


async def test_batch_job_generates_a_class_with_progress_and_reports_failures(cohort: Cohort) -> None:
    db, env, tenant_id, seeded = cohort.db, cohort.env, cohort.tenant_id, cohort.seeded
    stranger = uuid.uuid4()
    async with transaction(db) as session:
        service = TranscriptService(session, tenant_id, env)
        by_class = await service.enqueue_batch(TranscriptBatch(class_id=seeded.class_id))
        listed = await service.enqueue_batch(
            TranscriptBatch(learner_ids=[seeded.learner_id, stranger], options={"include_courses": False})
        )
        assert len(by_class.params["learner_ids"]) == 3
        job_ids = (by_class.id, listed.id)
    backend = InProcessBackend(db, env, concurrency=1, tick_interval=3600)
    await backend.start()
    activate(backend)
    try:
        await backend.resume()
        first = await wait_for_state(db, job_ids[0], "succeeded", "failed", within=120)
        second = await wait_for_state(db, job_ids[1], "succeeded", "failed", within=120)
    finally:
        deactivate(backend)
        await backend.stop()
    assert first.state == "succeeded", first.error
    assert first.report == {"total": 3, "generated": 3, "partial": first.report["partial"], "errors": []}
    assert first.progress["next"] == 3 and first.progress["total"] == 3
    assert second.state == "succeeded", second.error
    assert second.report is not None and second.report["generated"] == 1
    assert second.report["errors"] == [
        {"learner_id": str(stranger), "error": f"learner {stranger} not found"}
    ]
    async with db.session() as session:
        rows = (await session.exec(select(Transcript).where(col(Transcript.tenant_id) == tenant_id))).all()
        assert sorted(str(r.job_id) for r in rows) == sorted([str(job_ids[0])] * 3 + [str(job_ids[1])])
        service = TranscriptService(session, tenant_id, env)
        for row in rows:
            _, credential = await service.get(row.id)
            import json

            assert official_errors(json.loads(credential.document)) == []


async def test_cohorts_are_selected_bounded_and_paged(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    tenant_id = actors.a.tenant.id
    school = Org(tenant_id=tenant_id, name="Big High", type="school")
    session.add(school)
    await session.flush()
    school_id = str(school.id)  # ORM rows expire when a request rolls back
    now = datetime.now(UTC)
    people = [
        {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "status": "active",
            "role": "student",
            "given_name": f"S{i}",
            "family_name": "Senior",
            "grades": ["12"] if i % 5 else ["11"],
            "created_at": now,
            "updated_at": now,
        }
        for i in range(6_300)
    ]
    await bulk_insert(session, Person, people, json_columns=frozenset({"grades"}))
    await bulk_insert(
        session,
        PersonOrg,
        [
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "person_id": p["id"],
                "org_id": uuid.UUID(school_id),
                "role": "student",
                "role_type": "primary",
            }
            for p in people
        ],
    )
    await session.commit()
    write = await actors.a.headers("transcripts:write")
    too_many = await http.post(
        "/api/v1/transcripts/batch", json={"school_id": school_id, "grade": "12"}, headers=write
    )
    assert too_many.status_code == 422, too_many.text
    assert too_many.json()["code"] == "cohort_too_large"
    assert too_many.json()["errors"][0]["loc"] == "body.limit"
    assert "5040 learners" in too_many.json()["detail"]

    page = await http.post(
        "/api/v1/transcripts/batch",
        json={"school_id": school_id, "grade": "12", "offset": 5000, "limit": 100},
        headers=write,
    )
    assert page.status_code == 202, page.text
    assert (
        page.json()["kind"] == "transcripts.generate_batch"
        and len(page.json()["params"]["learner_ids"]) == 40
    )
    grade11 = await http.post(
        "/api/v1/transcripts/batch", json={"school_id": school_id, "grade": "11"}, headers=write
    )
    assert grade11.status_code == 202 and len(grade11.json()["params"]["learner_ids"]) == 1260

    huge = await http.post(
        "/api/v1/transcripts/batch",
        json={"learner_ids": [str(uuid.uuid4()) for _ in range(100_000)]},
        headers=write,
    )
    assert huge.status_code in (413, 422)  # refused: a bounded body, never a 500
    for bad in (
        {},
        {"school_id": school_id, "class_id": str(uuid.uuid4())},
        {"grade": "12"},
        {"class_id": str(uuid.uuid4())},
        {"learner_ids": []},
        {"school_id": school_id, "limit": 0},
    ):
        answer = await http.post("/api/v1/transcripts/batch", json=bad, headers=write)
        assert answer.status_code == 422, (bad, answer.text)
    other = await http.post(
        "/api/v1/transcripts/batch",
        json={"school_id": school_id},
        headers=await actors.b.headers("transcripts:write"),
    )
    assert other.status_code == 422 and other.json()["errors"][0]["loc"] == "body.school_id"


async def test_cohort_signing_reports_a_learner_that_cannot_be_signed_and_redraws_taken_indexes(
    cohort: Cohort,
) -> None:
    """A cohort's transcripts are signed together (the signing pool) and stored with one statement per
    table: a learner whose record cannot be signed is reported and nothing of it is stored, the others
    are; a status index taken meanwhile is drawn again and that transcript signed again."""
    import json

    from sqlalchemy import update

    from service.badges.models import IssuedCredential
    from service.errors import ServiceError
    from service.transcripts.models import TranscriptRecord
    from service.transcripts.schemas import TranscriptOptions

    db, env, tenant_id, seeded = cohort.db, cohort.env, cohort.tenant_id, cohort.seeded
    first, others = seeded.learner_id, seeded.other_learner_ids
    async with transaction(db) as session:
        taken = TranscriptService(session, tenant_id, env)
        taken.choose_index = lambda size: 7
        await taken.generate(others[0], TranscriptOptions())
    async with transaction(db) as session:
        # Safe mode refuses a control character: the first learner's badge (embedded verbatim) makes
        # its transcript impossible to sign.
        badge = (
            await session.exec(
                select(IssuedCredential).where(
                    col(IssuedCredential.learner_id) == first,
                    col(IssuedCredential.achievement_id).is_not(None),
                )
            )
        ).first()
        assert badge is not None
        document = json.loads(badge.document)
        document["name"] = "Bell \x07 badge"
        await session.execute(
            update(IssuedCredential)
            .where(col(IssuedCredential.id) == badge.id)
            .values(document=json.dumps(document))
        )
    draws = iter([7, 7, 9, 11, 13, 15])
    async with transaction(db) as session:
        service = TranscriptService(session, tenant_id, env)
        service.choose_index = lambda size: next(draws)
        failures: list[tuple[uuid.UUID, ServiceError]] = []
        made = await service.generate_many([*others, first], TranscriptOptions(), failures=failures)
    assert [learner for learner, _ in failures] == [first]
    assert "cannot be issued" in failures[0][1].detail
    assert sorted(str(item.transcript.learner_id) for item in made) == sorted(str(o) for o in others)
    async with db.session() as session:
        assert (
            await session.exec(select(TranscriptRecord).where(col(TranscriptRecord.learner_id) == first))
        ).all() == []
        rows = (
            await session.exec(
                select(IssuedCredential).where(
                    col(IssuedCredential.tenant_id) == tenant_id,
                    col(IssuedCredential.source_key).startswith("transcript:"),
                )
            )
        ).all()
    indexes = sorted(row.status_index for row in rows)
    # others[0] drew 7 (taken by the first transcript), others[1] 9, the first learner 11 (not stored):
    # others[0] drew again (13) and was signed again.
    assert indexes == [7, 9, 13]
    for row in rows:
        document = json.loads(row.document)
        assert int(document["credentialStatus"]["statusListIndex"]) == row.status_index
        assert official_errors(document) == []
