"""Plain async factories: tenants, API clients and tokens through the real services and endpoint."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.tenancy import scopes as scope_names
from service.tenancy.models import Tenant
from service.tenancy.schemas import ApiClientCreate, TenantCreate
from service.tenancy.service import SYSTEM, TenancyService


async def make_tenant(session: AsyncSession, settings: Settings, slug: str | None = None) -> Tenant:
    slug = slug or f"d-{uuid.uuid4().hex[:10]}"
    return await TenancyService(session, settings).create_tenant(
        SYSTEM, TenantCreate(slug=slug, name=f"District {slug}")
    )


@dataclass(frozen=True)
class TenantRef:
    """A detached snapshot: ORM objects expire when a request rolls back, these never do."""

    id: uuid.UUID
    slug: str
    name: str


async def make_tenant_ref(session: AsyncSession, settings: Settings, slug: str | None = None) -> TenantRef:
    tenant = await make_tenant(session, settings, slug)
    return TenantRef(tenant.id, tenant.slug, tenant.name)


async def make_client(
    session: AsyncSession, settings: Settings, tenant: Tenant | TenantRef, scopes: list[str]
) -> tuple[str, str]:
    client, secret = await TenancyService(session, settings).create_client(
        SYSTEM, ApiClientCreate(tenant_id=tenant.id, name="test client", scopes=scopes)
    )
    return client.client_id, secret


async def fetch_token(http: httpx.AsyncClient, client_id: str, secret: str, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    response = await http.post("/oauth/token", data=data, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@dataclass
class District:
    tenant: TenantRef
    session: AsyncSession
    settings: Settings
    http: httpx.AsyncClient
    _tokens: dict[tuple[str, ...], str] = field(default_factory=dict)

    async def headers(self, *scopes: str) -> dict[str, str]:
        """Bearer headers for a fresh client of this district holding exactly ``scopes``."""
        key = tuple(sorted(scopes))
        if key not in self._tokens:
            cid, secret = await make_client(self.session, self.settings, self.tenant, list(scopes))
            self._tokens[key] = await fetch_token(self.http, cid, secret)
        return {"Authorization": f"Bearer {self._tokens[key]}"}

    async def all_headers(self) -> dict[str, str]:
        return await self.headers(*[s for s in scope_names.ALL_SCOPES if s != scope_names.ADMIN])


@dataclass
class Actors:
    a: District
    b: District

    @classmethod
    async def create(cls, session: AsyncSession, settings: Settings, http: httpx.AsyncClient) -> Actors:
        ta = await make_tenant_ref(session, settings)
        tb = await make_tenant_ref(session, settings)
        return cls(District(ta, session, settings, http), District(tb, session, settings, http))


@dataclass
class PortraitFixture:
    """A published framework with competencies and a four-level rubric, a school, classes, learners."""

    framework_id: uuid.UUID
    competency_ids: list[uuid.UUID]
    level_ids: list[uuid.UUID]
    class_ids: list[uuid.UUID]
    session_ids: list[uuid.UUID]
    learner_ids: list[uuid.UUID]
    teacher_id: uuid.UUID


async def make_portrait(
    session: AsyncSession, tenant_id: uuid.UUID, *, competencies: int = 3, learners: int = 3, classes: int = 3
) -> PortraitFixture:
    from datetime import date

    from service.frameworks.schemas import CompetencyCreate, FrameworkCreate, LevelCreate
    from service.frameworks.service import FrameworkService
    from service.roster.schemas import (
        AcademicSessionCreate,
        ClassCreate,
        EnrollmentCreate,
        OrgCreate,
        PersonCreate,
    )
    from service.roster.service import RosterService

    fw_service = FrameworkService(session, tenant_id)
    fw = await fw_service.create_framework(FrameworkCreate(kind="graduate", title="Portrait of a Graduate"))
    level_ids = [
        (await fw_service.add_level(fw.id, LevelCreate(title=t, proficient=t == "Proficient"))).id
        for t in ("Beginning", "Developing", "Proficient", "Extending")
    ]
    comp_ids = [
        (
            await fw_service.add_competency(
                fw.id, CompetencyCreate(title=f"Competency {i}", statement=f"Statement {i}", code=f"C{i}")
            )
        ).id
        for i in range(competencies)
    ]
    await fw_service.publish(fw.id)
    roster = RosterService(session, tenant_id)
    school = await roster.create_org(OrgCreate(name="School", type="school"))
    sessions = [
        await roster.create_academic_session(
            AcademicSessionCreate(
                title=f"Term {i}",
                type="term",
                start_date=date(2026, 1 + 6 * i, 1),
                end_date=date(2026, 6 + 6 * i, 28),
                school_year=2027,
            )
        )
        for i in range(2)
    ]
    class_rows = [
        await roster.create_class(
            ClassCreate(title=f"Class {i}", school_id=school.id, academic_session_id=sessions[i % 2].id)
        )
        for i in range(classes)
    ]
    teacher = await roster.create_person(PersonCreate(role="teacher", given_name="Tea", family_name="Cher"))
    learner_rows = [
        await roster.create_person(
            PersonCreate(
                role="student",
                given_name=f"L{i}",
                family_name="Learner",
                sourced_id=f"sis-l{i}-{uuid.uuid4().hex[:6]}",
            )
        )
        for i in range(learners)
    ]
    for klass in class_rows:
        for learner in learner_rows:
            await roster.create_enrollment(
                EnrollmentCreate(class_id=klass.id, person_id=learner.id, role="student")
            )
    return PortraitFixture(
        framework_id=fw.id,
        competency_ids=comp_ids,
        level_ids=level_ids,
        class_ids=[c.id for c in class_rows],
        session_ids=[s.id for s in sessions],
        learner_ids=[p.id for p in learner_rows],
        teacher_id=teacher.id,
    )
