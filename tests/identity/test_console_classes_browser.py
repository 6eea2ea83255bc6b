"""The class page in a real browser (Debian's Chromium driven by Playwright, the service served by uvicorn
over real HTTP): the demo teacher signs in by link, opens their class, scores it with the grid and sees
the heat map change, then opens a learner's page with its Portrait and growth pictures. axe-core checks
the classes, class and learner pages for serious or critical violations; screenshots at 1280 and 390 px
wide go to var/screenshots/console-class*-*.png and console-class-learner-*.png."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page

from service.config import OutboundSettings, Settings
from service.db import Database
from service.demo import DEMO_TEACHER_EMAIL
from service.evidence.schemas import EvidenceCreate
from service.evidence.service import EvidenceService
from service.frameworks.schemas import (
    CompetencyCreate,
    DescriptorIn,
    FrameworkCreate,
    GradeBandIn,
    LevelCreate,
)
from service.frameworks.service import FrameworkService
from service.identity.service import IdentityService
from service.roster.schemas import ClassCreate, EnrollmentCreate, OrgCreate, PersonCreate
from service.roster.service import RosterService
from tests.factories import make_tenant_ref
from tests.identity.test_console_browser import Site
from tests.web.browser import check_page, live_site, load_axe, watch_errors
from tests.web.browser import chromium as launch_chromium

LEVELS = ("Beginning", "Developing", "Proficient", "Extending")
LEARNERS = (("Ines", "Garcia"), ("Kai", "Nguyen"), ("Maya", "Okafor"), ("Leo", "Patel"))


async def _populate(url: str, settings: Settings) -> tuple[str, str]:
    """A district with the demo teacher's class (grades 9-12), a published Portrait with grade bands and
    level descriptors, one earlier piece of evidence; returns the slug and a sign-in link."""
    db = Database(url, pool_size=2)
    try:
        async with db.session() as session:
            tenant = await make_tenant_ref(session, settings)
            roster = RosterService(session, tenant.id)
            district = await roster.create_org(OrgCreate(name="Demo District", type="district"))
            school = await roster.create_org(
                OrgCreate(name="Riverside High School", type="school", parent_id=district.id)
            )
            teacher = await roster.create_person(
                PersonCreate(
                    role="teacher",
                    given_name="Tess",
                    family_name="Teacher",
                    email=DEMO_TEACHER_EMAIL,
                    org_ids=[school.id],
                )
            )
            klass = await roster.create_class(
                ClassCreate(
                    title="English Language Arts (Fall)",
                    class_code="ELA-11-FALL",
                    school_id=school.id,
                    grades=["09", "10", "11", "12"],
                )
            )
            await roster.create_enrollment(
                EnrollmentCreate(class_id=klass.id, person_id=teacher.id, role="teacher")
            )
            learners = []
            for given, family in LEARNERS:
                learner = await roster.create_person(
                    PersonCreate(role="student", given_name=given, family_name=family, org_ids=[school.id])
                )
                learners.append(learner.id)
                await roster.create_enrollment(
                    EnrollmentCreate(class_id=klass.id, person_id=learner.id, role="student")
                )
            frameworks = FrameworkService(session, tenant.id)
            fw = await frameworks.create_framework(
                FrameworkCreate(kind="graduate", title="Portrait of a Graduate")
            )
            levels = [
                await frameworks.add_level(fw.id, LevelCreate(title=t, proficient=t == "Proficient"))
                for t in LEVELS
            ]
            communication = await frameworks.add_competency(
                fw.id,
                CompetencyCreate(
                    title="Communication",
                    statement="Shares ideas clearly and purposefully in speech, writing and media.",
                    grade_bands=[
                        GradeBandIn(band="6-8", descriptor="Chooses words for a specific audience."),
                        GradeBandIn(
                            band="9-12",
                            descriptor="Communicates complex ideas persuasively across formats.",
                        ),
                    ],
                ),
            )
            await frameworks.put_descriptors(
                fw.id,
                communication.id,
                [
                    DescriptorIn(level_id=lv.id, description=text)
                    for lv, text in zip(
                        levels,
                        (
                            "Shares ideas with support.",
                            "Shares ideas clearly for a familiar audience.",
                            "Adapts ideas and format to the audience.",
                            "Persuades varied audiences and responds to critique.",
                        ),
                        strict=True,
                    )
                ],
            )
            await frameworks.add_competency(
                fw.id, CompetencyCreate(title="Collaboration", statement="Works with diverse teams.")
            )
            await frameworks.publish(fw.id)
            await EvidenceService(session, tenant.id).create_one(
                EvidenceCreate(
                    learner_id=learners[0],
                    competency_id=communication.id,
                    source="rubric",
                    level=1,
                    class_id=klass.id,
                    observed_at=datetime(2026, 9, 15, 14, 0, tzinfo=UTC),
                    narrative="First essay.",
                ),
                created_by="test",
            )
            await session.commit()
            link = await IdentityService(session, settings).link_for_email(tenant.slug, DEMO_TEACHER_EMAIL)
            await session.commit()
            return tenant.slug, link
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def site_and_link(
    backend: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Site, str]]:
    var = tmp_path_factory.mktemp("console-classes-browser")
    with live_site(backend, settings, var, outbound=OutboundSettings(allow_private=True)) as live:
        slug, link = asyncio.run(_populate(live.database_url, live.env))
        with live.serving():
            yield Site(live.base, backend, slug, var), link


@pytest.fixture(scope="module")
def axe_source() -> str:
    return load_axe()


@pytest.fixture(scope="module")
def chromium(site_and_link: tuple[Site, str]) -> Iterator[Browser]:
    with launch_chromium() as launched:
        yield launched


def check(page: Page, axe_source: str, site: Site, name: str) -> None:
    """No sideways scrolling and no serious or critical axe-core violation at 1280 and 375 px wide."""
    check_page(page, axe_source, f"console-{name}-{site.backend}")


def test_demo_teacher_scores_a_class_and_sees_the_heat_map_change(
    chromium: Browser, site_and_link: tuple[Site, str], axe_source: str
) -> None:
    site, link = site_and_link
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = watch_errors(page, only_from=site.base)
    try:
        page.goto(link)
        assert page.url == f"{site.base}/console/"
        page.get_by_role("link", name="Classes", exact=True).click()
        assert page.get_by_role("heading", level=1).inner_text() == "Classes"
        check(page, axe_source, site, "classes")

        page.get_by_role("link", name="English Language Arts (Fall)").click()
        assert page.get_by_role("heading", level=1).inner_text() == "English Language Arts (Fall)"
        heat = page.locator("#heat")
        garcia = heat.get_by_role("row", name="Garcia, Ines")
        nguyen = heat.get_by_role("row", name="Nguyen, Kai")
        assert "Developing" in garcia.inner_text()
        assert "Proficient" not in heat.inner_text() and "Extending" not in heat.inner_text()
        assert "Communicates complex ideas persuasively" in page.locator("#grade-band").inner_text()
        assert "Adapts ideas and format to the audience." in page.locator("#level-descriptors").inner_text()
        check(page, axe_source, site, "class")

        page.get_by_label("Garcia, Ines").select_option(label="Proficient")
        page.get_by_label("Nguyen, Kai").select_option(label="Extending")
        page.get_by_label("Note (optional)").fill("Persuasive essay, second draft.")
        page.get_by_label("Link to the work (optional)").fill("https://lms.example/essays/2")
        page.get_by_role("button", name="Save the scores").click()

        assert "2 scores recorded as evidence for Communication" in page.locator("#saved").inner_text()
        assert "Proficient" in garcia.inner_text() and "2 pieces" in garcia.inner_text()
        assert "Extending" in nguyen.inner_text()
        assert "Developing" not in garcia.inner_text()
        check(page, axe_source, site, "class-scored")

        # Keyboard only: a learner's page from the heat map.
        heat.get_by_role("link", name="Garcia, Ines").focus()
        page.keyboard.press("Enter")
        page.wait_for_url(f"{site.base}/console/learners/*")
        assert page.get_by_role("heading", level=1).inner_text() == "Ines Garcia"
        portrait = page.locator("#portrait-picture-1 .chart__wide svg")
        assert "Communication: Proficient, 3 of 4." in (portrait.locator("desc").text_content() or "")
        growth = page.locator("#growth-1")
        assert "Developing; " in (growth.locator("desc").text_content() or "")
        assert growth.locator("circle").count() == 2
        growth.get_by_text("Show the levels of Communication as a table").click()
        assert "Persuasive essay" not in growth.inner_text()  # the table holds dates and levels
        assert "Proficient" in growth.locator("table").inner_text()
        check(page, axe_source, site, "class-learner")
    finally:
        context.close()
    assert errors == [], errors
