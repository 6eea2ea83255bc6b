"""The district dashboard: evidence coverage and levels per competency by school and grade band, from SQL
aggregates; district admins see every school, school leads their own, counselors and educators none."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.evidence.schemas import EvidenceCreate
from service.evidence.service import EvidenceService
from service.metrics.bands import NO_GRADE
from service.metrics.service import MetricsService
from service.roster.schemas import PersonCreate
from service.roster.service import RosterService
from tests.factories import make_portrait
from tests.identity.conftest import World
from tests.identity.test_console_sign_in import sign_in

T0 = datetime(2026, 10, 1, 14, 0, tzinfo=UTC)


async def _district(session: AsyncSession, world: World) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """School A: two 9th graders and a 12th grader; school B: one 7th grader. Levels 0-3
    (Beginning, Developing, Proficient, Extending)."""
    tenant_id = world.tenant.id
    portrait = await make_portrait(session, tenant_id, competencies=2, learners=0, classes=0)
    roster = RosterService(session, tenant_id)

    async def learner(name: str, grade: str, school: uuid.UUID) -> uuid.UUID:
        person = await roster.create_person(
            PersonCreate(
                role="student", given_name=name, family_name="Dash", grades=[grade], org_ids=[school]
            )
        )
        return person.id

    a9 = await learner("Ann", "09", world.school_a)
    b9 = await learner("Bo", "10", world.school_a)
    c12 = await learner("Cal", "12", world.school_a)
    d7 = await learner("Dee", "07", world.school_b)
    first, second = portrait.competency_ids
    evidence = EvidenceService(session, tenant_id)
    for who, comp, level, days in (
        (a9, first, 1, 0),
        (a9, first, 3, 5),  # most recent: Extending
        (b9, first, 2, 1),  # Proficient
        (b9, second, 0, 1),  # Beginning
        (c12, first, 1, 0),  # Developing
        (d7, first, 2, 0),
        (d7, first, 0, 9),  # most recent: Beginning
    ):
        await evidence.create_one(
            EvidenceCreate(
                learner_id=who,
                competency_id=comp,
                source="rubric",
                level=level,
                observed_at=T0 + timedelta(days=days),
            ),
            created_by="test",
        )
    # Another district's evidence never counts here.
    other = await make_portrait(session, world.other.id, competencies=1, learners=1, classes=0)
    await EvidenceService(session, world.other.id).create_one(
        EvidenceCreate(
            learner_id=world.other_tenant_learner,
            competency_id=other.competency_ids[0],
            source="rubric",
            level=3,
            observed_at=T0,
        ),
        created_by="test",
    )
    await session.commit()
    return portrait.framework_id, portrait.competency_ids


async def test_the_aggregates_by_school_and_band(session: AsyncSession, world: World) -> None:
    framework_id, (first, second) = await _district(session, world)
    data = await MetricsService(session, world.tenant.id).dashboard(
        within_schools=None, framework_id=framework_id
    )
    assert [lv.title for lv in data.levels] == ["Beginning", "Developing", "Proficient", "Extending"]
    assert data.proficient_positions == {2, 3}
    by_name = {s.name: s for s in data.schools}
    a = {b.band: b for b in by_name["School A"].bands}
    # The world's own learners (no grades on the roster) count too, in their own band.
    assert set(a) == {"9-12", NO_GRADE}
    high = a["9-12"]
    assert high.learners == 3
    row = {c.competency_id: c for c in high.competencies}
    assert row[first].covered == 3 and row[first].levels == {3: 1, 2: 1, 1: 1}
    assert row[first].proficient(data.proficient_positions) == 2
    assert row[second].covered == 1 and row[second].levels == {0: 1}
    b = {band.band: band for band in by_name["School B"].bands}
    assert b["6-8"].learners == 1
    assert {c.competency_id: c.levels for c in b["6-8"].competencies}[first] == {
        0: 1
    }  # the most recent piece
    assert data.district is not None
    district = {band.band: band for band in data.district.bands}
    assert district["9-12"].learners == 3 and district["6-8"].learners == 1

    lead_view = await MetricsService(session, world.tenant.id).dashboard(within_schools=[world.school_b])
    assert [s.name for s in lead_view.schools] == ["School B"] and lead_view.district is None


async def test_district_admin_sees_every_school_with_charts_and_tables(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    await _district(session, world)
    await sign_in(browser, session, settings, world.tenant.slug, world.admin_email)
    response = await browser.get("/console/dashboard")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    text = response.text
    assert 'href="/console/dashboard" class="header__link" aria-current="page"' in text
    for heading in (
        "The district",
        "School A",
        "School B",
        "Grades 9-12: 3 learners",
        "Grades 6-8: 1 learner",
    ):
        assert heading in text, heading
    assert text.count('<svg viewBox="0 0 640') == text.count("<table") >= 4  # a chart and a table per band
    assert 'role="img"' in text and "<title id=" in text
    # School A, grades 9-12, Competency 0: 3 with evidence; 2 at Proficient or above (67%).
    assert re.search(
        r"<th scope=\"row\">Competency 0</th><td>3 \(100%\)</td>"
        r"<td>0</td><td>1</td><td>1</td><td>1</td><td>2 \(67%\)</td>",
        text,
    )
    assert "Faraway" not in text


async def test_school_lead_sees_their_school_and_others_are_refused(
    browser: httpx.AsyncClient,
    second_browser: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    world: World,
) -> None:
    await _district(session, world)
    lead_email = f"lead@{world.tenant.slug}.test"
    await RosterService(session, world.tenant.id).create_person(
        PersonCreate(
            role="principal",
            given_name="Pat",
            family_name="Principal",
            email=lead_email,
            org_ids=[world.school_b],
        )  # type: ignore[arg-type]
    )
    await session.commit()
    await sign_in(browser, session, settings, world.tenant.slug, lead_email)
    text = (await browser.get("/console/dashboard")).text
    assert "School B" in text and "School A" not in text and "Grades 6-8: 1 learner" in text

    for email in (world.counselor_email, world.teacher_email):
        await sign_in(second_browser, session, settings, world.tenant.slug, email)
        home = await second_browser.get("/console/")
        assert 'href="/console/dashboard"' not in home.text
        refused = await second_browser.get("/console/dashboard")
        assert refused.status_code == 403 and "school leads and district admins" in refused.text


async def test_another_districts_admin_sees_only_their_district(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    await _district(session, world)
    data = await MetricsService(session, world.other.id).dashboard(within_schools=None)
    names = {s.name for s in data.schools}
    assert "School A" not in names and "School B" not in names
    assert all(band.learners <= 2 for s in data.schools for band in s.bands)
