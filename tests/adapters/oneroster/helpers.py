"""A committed scratch database with a tenant and a connection to the fake provider; snapshots."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from service.adapters.oneroster.models import Category, LineItem, Result
from service.adapters.oneroster.schemas import ConnectionCreate, SyncRequest
from service.adapters.oneroster.service import ConnectionService
from service.config import Settings
from service.db import Database
from service.jobs.backends import JobRunner
from service.jobs.models import Job
from service.jobs.service import transaction
from service.roster.models import AcademicSession, Class, Course, Enrollment, Org, Person, PersonOrg
from tests.adapters.oneroster.fake_server import FakeOneRoster
from tests.factories import make_tenant


@dataclass
class SyncEnv:
    db: Database
    settings: Settings
    tenant_id: uuid.UUID
    connection_id: uuid.UUID
    fake: FakeOneRoster

    async def run(self, mode: str = "full", *, override: bool = False) -> Job:
        """Queue a sync the way the REST endpoint does and run it to its end in this task."""
        async with transaction(self.db) as session:
            job = await ConnectionService(session, self.tenant_id, self.settings).enqueue_sync(
                self.connection_id,
                SyncRequest(mode=mode, override=override),  # type: ignore[arg-type]
            )
            job_id = job.id
        await JobRunner(self.db, self.settings).run(job_id)
        return await self.job(job_id)

    async def job(self, job_id: uuid.UUID) -> Job:
        async with self.db.session() as session:
            job = await session.get(Job, job_id)
            assert job is not None
            return job


@asynccontextmanager
async def sync_env(
    url: str, settings: Settings, fake: FakeOneRoster, version: str = "1.2"
) -> AsyncIterator[SyncEnv]:
    """A tenant and a connection to ``fake`` in the already migrated database at ``url``."""
    env_settings = settings.model_copy(update={"database_url": url})
    db = Database(url, pool_size=5)
    try:
        async with transaction(db) as session:
            tenant = await make_tenant(session, env_settings)
            connection = await ConnectionService(session, tenant.id, env_settings).create(
                ConnectionCreate(
                    base_url=fake.url,
                    version=version,  # type: ignore[arg-type]
                    token_url=fake.token_url,
                    client_id=fake.client_id,
                    client_secret=fake.client_secret,
                    scopes=["https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly"],
                )
            )
            tenant_id, connection_id = tenant.id, connection.id
        yield SyncEnv(db, env_settings, tenant_id, connection_id, fake)
    finally:
        await db.dispose()


async def snapshot(db: Database, tenant_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """Everything the sync wrote, keyed by sourcedId, references as sourcedIds (comparable across runs)."""
    async with db.session() as s:

        def sid_map(rows: Any) -> dict[uuid.UUID, str]:
            return {r.id: r.sourced_id for r in rows}

        orgs = (await s.exec(select(Org).where(col(Org.tenant_id) == tenant_id))).all()
        org_sid = sid_map(orgs)
        sessions = (
            await s.exec(select(AcademicSession).where(col(AcademicSession.tenant_id) == tenant_id))
        ).all()
        session_sid = sid_map(sessions)
        people = (await s.exec(select(Person).where(col(Person.tenant_id) == tenant_id))).all()
        person_sid = sid_map(people)
        classes = (await s.exec(select(Class).where(col(Class.tenant_id) == tenant_id))).all()
        class_sid = sid_map(classes)
        enrollments = (await s.exec(select(Enrollment).where(col(Enrollment.tenant_id) == tenant_id))).all()
        courses = (await s.exec(select(Course).where(col(Course.tenant_id) == tenant_id))).all()
        categories = (await s.exec(select(Category).where(col(Category.tenant_id) == tenant_id))).all()
        category_sid = sid_map(categories)
        items = (await s.exec(select(LineItem).where(col(LineItem.tenant_id) == tenant_id))).all()
        item_sid = sid_map(items)
        results = (await s.exec(select(Result).where(col(Result.tenant_id) == tenant_id))).all()
        memberships = (await s.exec(select(PersonOrg).where(col(PersonOrg.tenant_id) == tenant_id))).all()
    member_of: dict[uuid.UUID, list[tuple[str, str, str]]] = {}
    for m in memberships:
        member_of.setdefault(m.person_id, []).append((org_sid[m.org_id], m.role, m.role_type))
    return {
        "orgs": {o.sourced_id: (o.name, o.type, o.status, org_sid.get(o.parent_id)) for o in orgs},  # type: ignore[misc]
        "academicSessions": {
            a.sourced_id: (a.title, a.type, a.status, str(a.start_date), session_sid.get(a.parent_id))  # type: ignore[misc]
            for a in sessions
        },
        "users": {
            p.sourced_id: (p.role, p.given_name, p.family_name, p.status, sorted(member_of.get(p.id, [])))  # type: ignore[misc]
            for p in people
        },
        "classes": {
            c.sourced_id: (c.title, c.status, org_sid[c.school_id], session_sid.get(c.academic_session_id))  # type: ignore[misc]
            for c in classes
        },
        "enrollments": {
            e.sourced_id: (class_sid[e.class_id], person_sid[e.person_id], e.role, e.status, e.primary)  # type: ignore[misc]
            for e in enrollments
        },
        "courses": {c.sourced_id: (c.title, c.status, org_sid.get(c.org_id)) for c in courses},  # type: ignore[arg-type]
        "categories": {c.sourced_id: (c.title, c.weight, c.status) for c in categories},
        "lineItems": {
            i.sourced_id: (
                i.title,
                i.status,
                class_sid.get(i.class_id),  # type: ignore[arg-type]
                category_sid.get(i.category_id),  # type: ignore[arg-type]
                i.result_value_max,
                i.learning_objective_ids,
            )
            for i in items
        },
        "results": {
            r.sourced_id: (item_sid[r.line_item_id], person_sid[r.learner_id], r.score, r.status)
            for r in results
        },
    }


def active_sids(snap: dict[str, dict[str, Any]], collection: str, status_index: int) -> set[str]:
    return {sid for sid, row in snap[collection].items() if row[status_index] == "active"}


async def timestamps(db: Database, tenant_id: uuid.UUID) -> dict[str, Any]:
    """updated_at of every synced row: a re-run that changes nothing leaves them all alone."""
    out: dict[str, Any] = {}
    async with db.session() as s:
        for model in (Org, AcademicSession, Person, Class, Enrollment, Course, Category, LineItem, Result):
            rows = (await s.exec(select(model).where(col(model.tenant_id) == tenant_id))).all()
            out.update({f"{model.__name__}:{r.sourced_id}": r.updated_at for r in rows})
    return out


async def full_sync_changes_nothing(
    env: SyncEnv, snap: dict[str, dict[str, Any]], stamps: dict[str, Any]
) -> Job:
    """Run a full sync and assert that it changed nothing: it succeeds, reports every record it fetched
    as unchanged (none created, updated or deactivated) and leaves the records (``snap``, from
    :func:`snapshot`) and their ``updated_at`` (``stamps``, from :func:`timestamps`) as they were."""
    job = await env.run("full")
    assert job.state == "succeeded", job.error
    assert job.report is not None
    totals = job.report["totals"]
    assert totals["created"] == totals["updated"] == totals["deactivated"] == 0, totals
    assert totals["unchanged"] == totals["fetched"] > 0
    assert await snapshot(env.db, env.tenant_id) == snap
    assert await timestamps(env.db, env.tenant_id) == stamps
    return job
