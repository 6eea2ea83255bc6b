"""What each staff member sees: learner search and learner pages are scoped to their schools (counselor),
classes (educator) or district (district admin); another school's learner, another district's learner,
or a session of another district get a clear "not found" page; a district admin grants roles."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.awards.schemas import AchievementCreate
from service.awards.service import AwardService
from service.config import Settings
from service.evidence.schemas import EvidenceCreate
from service.evidence.service import EvidenceService
from service.identity.errors import InvalidRole, NotAllowed
from service.identity.schemas import RoleGrantCreate
from service.identity.service import IdentityService
from service.roster.schemas import EnrollmentCreate
from service.roster.service import RosterService
from tests.factories import make_portrait
from tests.identity.conftest import World
from tests.identity.test_console_sign_in import sign_in


async def page(browser: httpx.AsyncClient, learner_id: uuid.UUID | str) -> httpx.Response:
    response = await browser.get(f"/console/learners/{learner_id}")
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    return response


async def test_counselor_sees_their_schools_learners_only(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    search = await browser.get("/console/learners")
    assert search.status_code == 200
    assert "Inclass, Ines" in search.text and "Sameschool, Sami" in search.text
    assert "Otherschool" not in search.text and "Faraway" not in search.text
    assert "2 learners" in search.text

    found = await browser.get("/console/learners", params={"q": "sam"})
    assert "1 learner matching" in found.text and "Sameschool, Sami" in found.text

    mine = await page(browser, world.same_school)
    assert mine.status_code == 200
    assert "Sami Sameschool" in mine.text
    assert "No evidence recorded yet." in mine.text

    for other in (world.other_school, world.other_tenant_learner, uuid.uuid4(), "not-a-uuid"):
        refused = await page(browser, other)
        assert refused.status_code == 404, other
        assert "Learner not found" in refused.text
        assert "Otherschool" not in refused.text and "Faraway" not in refused.text


async def test_educator_sees_the_learners_of_their_classes(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    await sign_in(browser, session, settings, world.tenant.slug, world.teacher_email)
    search = await browser.get("/console/learners")
    assert "Inclass, Ines" in search.text
    assert "Sameschool" not in search.text and "Otherschool" not in search.text
    assert (await page(browser, world.in_class)).status_code == 200
    assert (await page(browser, world.same_school)).status_code == 404


async def test_district_admin_sees_every_learner_of_the_district(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    await sign_in(browser, session, settings, world.tenant.slug, world.admin_email)
    search = await browser.get("/console/learners")
    assert "3 learners" in search.text and "Otherschool, Omar" in search.text
    assert "Faraway" not in search.text
    assert (await page(browser, world.other_school)).status_code == 200
    assert (await page(browser, world.other_tenant_learner)).status_code == 404


async def test_another_districts_session_cannot_open_this_districts_learner(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    await sign_in(browser, session, settings, world.other.slug, world.other_counselor_email)
    assert (await page(browser, world.other_tenant_learner)).status_code == 200
    for learner in (world.in_class, world.same_school, world.other_school):
        refused = await page(browser, learner)
        assert refused.status_code == 404
        assert "Learner not found" in refused.text
    search = await browser.get("/console/learners")
    assert "Faraway, Fay" in search.text and "Inclass" not in search.text


async def test_learner_page_shows_levels_badges_and_evidence(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    tenant_id = world.tenant.id
    portrait = await make_portrait(session, tenant_id, competencies=2, learners=2, classes=1)
    roster = RosterService(session, tenant_id)
    await roster.create_enrollment(
        EnrollmentCreate(class_id=portrait.class_ids[0], person_id=world.teacher_id, role="teacher")
    )
    await AwardService(session, tenant_id).create_achievement(
        AchievementCreate(
            title="Collaborator",
            description="Works well with others.",
            criteria="Two pieces at Proficient or above.",
            framework_id=portrait.framework_id,
            rule={
                "type": "evidence",
                "competency_ids": [str(portrait.competency_ids[0])],
                "min_level": 2,
                "min_count": 2,
            },
        )
    )
    await EvidenceService(session, tenant_id).create_one(
        EvidenceCreate(
            learner_id=portrait.learner_ids[0],
            competency_id=portrait.competency_ids[0],
            source="rubric",
            level=2,
            class_id=portrait.class_ids[0],
            observed_at=datetime(2026, 10, 5, 14, 0, tzinfo=UTC),
            narrative="Led the <lab> group & kept notes.",
        ),
        created_by="test",
    )
    await session.commit()
    await sign_in(browser, session, settings, world.tenant.slug, world.teacher_email)
    response = await page(browser, portrait.learner_ids[0])
    assert response.status_code == 200, response.text
    text = response.text
    assert "L0 Learner" in text
    assert "Competency 0" in text and "Proficient" in text  # the level on the Portrait
    assert "Collaborator" in text and "not yet earned" in text
    assert "1 of 2" in text or "2 pieces" in text  # the reason the badge is not earned yet
    assert "5 October 2026" in text and "rubric score" in text and "Class 0" in text
    assert "Led the &lt;lab&gt; group &amp; kept notes." in text  # autoescaped
    assert "content-security-policy" in response.headers


async def test_district_admin_grants_a_role_and_others_cannot(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    service = IdentityService(session, settings)
    tenant = await service.tenant_by_slug(world.tenant.slug)
    _, admin = await service.staff_by_email(tenant, world.admin_email)
    _, counselor = await service.staff_by_email(tenant, world.counselor_email)
    grant = RoleGrantCreate(person_id=world.teacher_id, role="counselor", org_id=world.school_b)
    with pytest.raises(NotAllowed):
        await service.grant_role(counselor, tenant, grant)
    with pytest.raises(InvalidRole):
        await service.grant_role(admin, tenant, RoleGrantCreate(person_id=world.in_class, role="educator"))
    with pytest.raises(InvalidRole):
        await service.grant_role(
            admin, tenant, RoleGrantCreate(person_id=world.teacher_id, role="counselor", org_id=uuid.uuid4())
        )
    made = await service.grant_role(admin, tenant, grant)
    assert made.granted_by == admin.person_id
    made_id = made.id  # (ORM rows expire when a refused request rolls back)
    assert (await service.grant_role(admin, tenant, grant)).id == made_id  # granting twice changes nothing
    await session.commit()

    await sign_in(browser, session, settings, world.tenant.slug, world.teacher_email)
    home = await browser.get("/console/")
    assert "(Educator, Counselor)" in home.text
    assert (await page(browser, world.other_school)).status_code == 200  # school B, by the grant
    assert (await page(browser, world.same_school)).status_code == 404  # school A: not a counselor there

    await service.revoke_grant(admin, made_id)
    await session.commit()
    assert (await page(browser, world.other_school)).status_code == 404


async def test_staff_roles_page_for_district_admins(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    from sqlalchemy import func
    from sqlmodel import select

    from service.identity.models import StaffRoleGrant
    from tests.identity.conftest import csrf_of

    async def grants() -> int:
        return int((await session.exec(select(func.count()).select_from(StaffRoleGrant))).one())

    await sign_in(browser, session, settings, world.tenant.slug, world.counselor_email)
    refused = await browser.get("/console/staff")
    assert refused.status_code == 403 and "Only a district admin" in refused.text
    home = await browser.get("/console/")
    assert "Staff roles" not in home.text
    forged = await browser.post(
        "/console/staff/grants",
        data={"email": world.counselor_email, "role": "district_admin", "csrf_token": csrf_of(home.text)},
    )
    assert forged.status_code == 403
    before = await grants()

    await sign_in(browser, session, settings, world.tenant.slug, world.admin_email)
    page_ = await browser.get("/console/staff")
    assert page_.status_code == 200 and "No role has been granted yet." in page_.text
    token = csrf_of(page_.text)
    assert (
        await browser.post("/console/staff/grants", data={"email": world.teacher_email, "role": "counselor"})
    ).status_code == 403
    for bad in (
        {"email": world.learner_email, "role": "educator"},
        {"email": "nobody@nowhere.test", "role": "educator"},
        {"email": world.teacher_email, "role": "overlord"},
        {"email": world.teacher_email, "role": "counselor", "school": str(uuid.uuid4())},
        {"email": world.teacher_email, "role": "counselor", "school": "not-a-school"},
        {"email": world.teacher_email + "\x00", "role": "counselor"},
    ):
        answer = await browser.post("/console/staff/grants", data={**bad, "csrf_token": token})
        assert answer.status_code == 422, bad
        assert "There is a problem" in answer.text
    assert await grants() == before

    made = await browser.post(
        "/console/staff/grants",
        data={
            "email": world.teacher_email,
            "role": "counselor",
            "school": str(world.school_b),
            "csrf_token": token,
        },
    )
    assert made.status_code == 303 and made.headers["location"] == "/console/staff"
    listed = await browser.get("/console/staff")
    assert "Theo Teach" in listed.text and "School B" in listed.text and "Counselor" in listed.text
    assert await grants() == before + 1
    action = re.search(r'action="(/console/staff/grants/[0-9a-f-]{36}/revoke)"', listed.text)
    assert action is not None
    assert (await browser.post(action.group(1), data={"csrf_token": csrf_of(listed.text)})).status_code == 303
    assert await grants() == before
