"""A double click on "Save the scores": two posts of the same scoring-grid form at the same time, on real
connections that really commit, write the evidence once and both get the first answer."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from service.app import create_app
from service.config import Settings
from service.db import Database
from service.evidence.service import EvidenceService
from service.frameworks.schemas import CompetencyCreate, FrameworkCreate, LevelCreate
from service.frameworks.service import FrameworkService
from service.identity.service import IdentityService
from service.roster.schemas import ClassCreate, EnrollmentCreate, OrgCreate, PersonCreate
from service.roster.service import RosterService
from service.schemas import PageParams
from tests.factories import make_tenant_ref
from tests.identity.conftest import CONSOLE_BASE, csrf_of

_KEY = re.compile(r'name="submission" value="([0-9a-f]+)"')
TEACHER = "teacher@concurrent.test"


@dataclass(frozen=True)
class Committed:
    app: FastAPI
    db: Database
    tenant_id: uuid.UUID
    class_id: uuid.UUID
    competency_id: uuid.UUID
    learners: list[uuid.UUID]
    link: str


@pytest.fixture
async def committed(migrated_url: str, settings: Settings) -> AsyncIterator[Committed]:
    env = settings.model_copy(update={"database_url": migrated_url, "public_url": CONSOLE_BASE})
    db = Database(migrated_url, pool_size=4)
    async with db.session() as session:
        tenant = await make_tenant_ref(session, env)
        roster = RosterService(session, tenant.id)
        school = await roster.create_org(OrgCreate(name="School", type="school"))
        teacher = await roster.create_person(
            PersonCreate(
                role="teacher", given_name="Tea", family_name="Cher", email=TEACHER, org_ids=[school.id]
            )
        )
        klass = await roster.create_class(ClassCreate(title="History", school_id=school.id, grades=["07"]))
        await roster.create_enrollment(
            EnrollmentCreate(class_id=klass.id, person_id=teacher.id, role="teacher")
        )
        learners = []
        for n in range(3):
            learner = await roster.create_person(
                PersonCreate(role="student", given_name=f"L{n}", family_name="Learner", org_ids=[school.id])
            )
            learners.append(learner.id)
            await roster.create_enrollment(
                EnrollmentCreate(class_id=klass.id, person_id=learner.id, role="student")
            )
        frameworks = FrameworkService(session, tenant.id)
        fw = await frameworks.create_framework(FrameworkCreate(kind="graduate", title="Portrait"))
        for title in ("Beginning", "Developing", "Proficient"):
            await frameworks.add_level(fw.id, LevelCreate(title=title))
        comp = await frameworks.add_competency(fw.id, CompetencyCreate(title="Inquiry", statement="Asks."))
        await frameworks.publish(fw.id)
        await session.commit()
        link = await IdentityService(session, env).link_for_email(tenant.slug, TEACHER)
        await session.commit()
    try:
        yield Committed(create_app(env, database=db), db, tenant.id, klass.id, comp.id, learners, link)
    finally:
        await db.dispose()


async def test_a_double_submit_writes_the_scores_once(committed: Committed) -> None:
    transport = httpx.ASGITransport(app=committed.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=CONSOLE_BASE) as browser:
        signed = await browser.get(committed.link)
        assert signed.status_code == 303
        shown = await browser.get(
            f"/console/classes/{committed.class_id}", params={"competency": str(committed.competency_id)}
        )
        found = _KEY.search(shown.text)
        assert shown.status_code == 200 and found is not None
        form = {
            "csrf_token": csrf_of(shown.text),
            "submission": found.group(1),
            "competency": str(committed.competency_id),
            "observed_on": datetime.now(UTC).date().isoformat(),
        } | {f"level-{learner}": "2" for learner in committed.learners}
        path = f"/console/classes/{committed.class_id}/scores"
        first, second = await asyncio.gather(browser.post(path, data=form), browser.post(path, data=form))
    assert (first.status_code, second.status_code) == (303, 303), (first.text, second.text)
    assert first.headers["location"] == second.headers["location"]
    assert "saved=3" in first.headers["location"]
    async with committed.db.session() as session:
        pieces, total = await EvidenceService(session, committed.tenant_id).list_page(
            PageParams(limit=10, offset=0), class_id=committed.class_id
        )
    assert total == 3
    assert sorted(p.learner_id for p in pieces) == sorted(committed.learners)
