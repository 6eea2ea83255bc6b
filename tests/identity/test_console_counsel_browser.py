"""The counselor's and district lead's console pages in a real browser (Debian's Chromium driven by
Playwright) against the service on the demo data, served by uvicorn over real HTTP: the demo counselor
signs in by link, approves an award under review, keeps one badge flagged for review (evidence behind it
was withdrawn) and revokes another, generates a learner's transcript and downloads its PDF,
runs the transcripts of the high school's grade 12 and watches the progress bar finish, and signs out; a
district admin opens the dashboard. axe-core checks each page at 1280 and 375 pixels wide, where
none may scroll sideways; screenshots go to var/screenshots/console-*-<backend>-{1280,375}.png."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page
from sqlmodel import col, select

from service.awards.schemas import AchievementCreate
from service.awards.service import AwardService
from service.config import Settings
from service.db import Database
from service.demo import DEMO_COUNSELOR_EMAIL, DEMO_SLUG, load_demo
from service.evidence.schemas import EvidenceCreate
from service.evidence.service import EvidenceService
from service.frameworks.models import Competency, Framework
from service.roster.models import Org, Person, PersonOrg
from service.roster.schemas import PersonCreate
from service.roster.service import RosterService
from service.tenancy.repository import TenantRepository
from tests.identity.test_console_browser import Site as _BaseSite
from tests.identity.test_console_browser import outbox_dir_of
from tests.web.browser import check_page, chromium, live_site, load_axe, watch_errors

ADMIN_EMAIL = "district.admin@demo.portrait.test"


@dataclass(frozen=True)
class Site:
    base: str
    backend: str
    var: Path
    reviewed_learner: str  # "Given Family" of the learner whose award waits for review


async def _populate(url: str, settings: Settings) -> str:
    """The demo, plus an achievement that needs a person's approval, earned by one high-school learner
    (so that the counselor's queue holds it), and a district admin."""
    db = Database(url, pool_size=4)
    try:
        await load_demo(db, settings)
        async with db.session() as session:
            tenant = await TenantRepository(session).get_by_slug(DEMO_SLUG)
            assert tenant is not None
            framework = (
                await session.exec(
                    select(Framework).where(
                        col(Framework.tenant_id) == tenant.id, col(Framework.kind) == "graduate"
                    )
                )
            ).first()
            assert framework is not None
            competency = (
                await session.exec(
                    select(Competency)
                    .where(col(Competency.framework_id) == framework.id, col(Competency.parent_id).is_(None))
                    .order_by(col(Competency.position))
                )
            ).first()
            assert competency is not None
            high_school = (
                await session.exec(
                    select(Org).where(
                        col(Org.tenant_id) == tenant.id, col(Org.sourced_id) == "demo-school-hs"
                    )
                )
            ).one()
            learner = (
                await session.exec(
                    select(Person)
                    .join(PersonOrg, col(PersonOrg.person_id) == col(Person.id))
                    .where(
                        col(Person.tenant_id) == tenant.id,
                        col(Person.role) == "student",
                        col(PersonOrg.org_id) == high_school.id,
                    )
                    .order_by(col(Person.family_name), col(Person.given_name))
                )
            ).first()
            assert learner is not None
            await AwardService(session, tenant.id).create_achievement(
                AchievementCreate(
                    title="Capstone presenter",
                    description="Presented a capstone project to a panel.",
                    criteria="One exhibition at Proficient or above, approved by a counselor.",
                    framework_id=framework.id,
                    award_mode="review",
                    rule={"type": "evidence", "competency_ids": [str(competency.id)], "min_level": 2},
                )
            )
            await EvidenceService(session, tenant.id).create_one(
                EvidenceCreate(
                    learner_id=learner.id,
                    competency_id=competency.id,
                    source="exhibition",
                    level=3,
                    observed_at=datetime(2026, 11, 20, 15, 0, tzinfo=UTC),
                    narrative="Capstone panel: a clear argument, well defended.",
                ),
                created_by="test",
            )
            district = (
                await session.exec(
                    select(Org).where(col(Org.tenant_id) == tenant.id, col(Org.type) == "district")
                )
            ).one()
            await RosterService(session, tenant.id).create_person(
                PersonCreate(
                    role="districtAdministrator",
                    given_name="Rae",
                    family_name="Director",
                    email=ADMIN_EMAIL,
                    org_ids=[district.id],
                )
            )
            await session.commit()
            return f"{learner.given_name} {learner.family_name}"
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def site(backend: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    var = tmp_path_factory.mktemp("console-counsel")
    with live_site(backend, settings, var, jobs_backend="inprocess") as live:
        reviewed = asyncio.run(_populate(live.database_url, live.env))
        with live.serving():
            yield Site(live.base, backend, var, reviewed)


@pytest.fixture(scope="module")
def axe_source() -> str:
    return load_axe()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def expected_errors() -> list[str]:
    """Paths a test expects a 4xx from (a form sent with a mistake on purpose)."""
    return []


@pytest.fixture
def page(browser: Browser, site: Site, expected_errors: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    errors = watch_errors(opened, only_from=site.base)
    yield opened
    context.close()
    unexpected = [e for e in errors if not any(path in e for path in expected_errors)]
    assert unexpected == [], unexpected  # a CSP violation or a failing request shows up here


def check(page: Page, axe_source: str, site: Site, name: str) -> None:
    """No sideways scrolling, no serious or critical axe-core violation, a screenshot at each width."""
    check_page(page, axe_source, f"console-{name}-{site.backend}")


def sign_in_by_link(page: Page, site: Site, address: str) -> None:
    import email

    page.goto(f"{site.base}/console/sign-in?tenant={DEMO_SLUG}")
    page.get_by_label("Email address").fill(address)
    page.get_by_role("button", name="Send me a sign-in link").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Check your email"
    messages = [
        email.message_from_bytes(p.read_bytes()) for p in sorted(outbox_dir_of(_as_base(site)).glob("*.eml"))
    ]
    body = [m for m in messages if m["To"] == address][-1].get_payload(decode=True)
    assert isinstance(body, bytes)
    link = next(line.strip() for line in body.decode().splitlines() if "/console/sign-in/link/" in line)
    page.goto(link)
    assert page.url == f"{site.base}/console/"


def _as_base(site: Site) -> _BaseSite:
    return _BaseSite(site.base, site.backend, DEMO_SLUG, site.var)


def test_counselor_approves_an_award_generates_a_transcript_and_runs_a_cohort(
    page: Page, site: Site, axe_source: str, expected_errors: list[str]
) -> None:
    expected_errors.append("/decision")  # the decline without a reason: 422 on purpose
    sign_in_by_link(page, site, DEMO_COUNSELOR_EMAIL)
    assert "(Counselor)" in page.locator("#signed-in-as").inner_text()
    nav = page.locator(".header__nav, header").first
    assert nav.get_by_role("link", name="Dashboard").count() == 0  # counselors have no dashboard

    # The review queue: the award under review, with its evidence.
    page.get_by_role("link", name="Reviews").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Awards to review"
    assert "1 award waiting for approval" in page.locator(".lead").first.inner_text()
    pending = page.locator("section.review").first  # the first section: waiting for approval
    assert "Capstone panel: a clear argument, well defended." in pending.locator("ol.timeline").inner_text()
    check(page, axe_source, site, "reviews")
    page.get_by_role("button", name=f"Decline Capstone presenter for {site.reviewed_learner}").click()
    assert (
        page.locator(".error-message")
        .first.inner_text()
        .endswith("Enter the reason for declining: the award keeps it")
    )
    check(page, axe_source, site, "reviews-error")
    page.get_by_role("button", name=f"Approve Capstone presenter for {site.reviewed_learner}").click()
    assert page.locator("#done").inner_text().startswith("Award approved")
    assert "No award is waiting for approval" in page.locator(".lead").first.inner_text()

    # The learner's transcripts: generate, see it, download the PDF, share the link.
    page.get_by_role("link", name="Learners").first.click()
    page.get_by_label("Find a learner by name, email or student number").fill(
        site.reviewed_learner.split()[-1]
    )
    page.get_by_role("button", name="Search").click()
    family, given = site.reviewed_learner.split()[-1], site.reviewed_learner.split()[0]
    page.get_by_role("link", name=f"{family}, {given}").first.click()
    assert "Capstone presenter" in page.locator("#badges ~ dl").first.inner_text()
    page.locator("#transcripts-link").click()
    check(page, axe_source, site, "transcripts-empty")
    page.get_by_role("button", name="Generate transcript").click()
    assert "Transcript generated" in page.locator("#done").inner_text()
    share = page.locator("#share-link").input_value()
    assert share.startswith(f"{site.base}/transcripts/")
    assert page.get_by_role("button", name="Copy link").is_visible()  # console.js shows it
    assert page.locator("#preview svg").count() >= 1  # the Portrait chart of the public page
    check(page, axe_source, site, "transcript")
    with page.expect_download() as info:
        page.locator("#download-pdf").click()
    pdf = Path(info.value.path())
    assert pdf.read_bytes().startswith(b"%PDF")
    assert info.value.suggested_filename.endswith(".pdf")

    # A cohort run: the high school's grade 12, and its progress bar until it finishes.
    page.get_by_role("link", name="Transcripts", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Transcripts for a cohort"
    check(page, axe_source, site, "cohort")
    page.get_by_label("School").select_option(label="Riverside High School")
    page.get_by_label("Grade").fill("12")
    page.get_by_role("button", name="Generate the transcripts").click()
    assert "Riverside High School, grade 12" in page.get_by_role("heading", level=1).inner_text()
    progress = page.locator("#run-progress")
    assert int(progress.get_attribute("max") or "0") > 0
    page.wait_for_selector('#run[data-finished="yes"]', timeout=180_000)  # console.js polled the job
    assert progress.evaluate("el => el.value === el.max")
    assert page.locator("#run-state").inner_text() == "Finished"
    check(page, axe_source, site, "cohort-run")

    page.get_by_role("button", name="Sign out", exact=True).click()
    assert page.url == f"{site.base}/console/sign-in"
    page.goto(f"{site.base}/console/reviews")
    assert page.url == f"{site.base}/console/sign-in"


def test_counselor_keeps_one_flagged_badge_and_revokes_another(
    page: Page, site: Site, axe_source: str, expected_errors: list[str]
) -> None:
    """The demo's badges whose evidence was withdrawn wait in the second section of the review page."""
    expected_errors.append("/decision")  # the revoke without a reason: 422 on purpose
    sign_in_by_link(page, site, DEMO_COUNSELOR_EMAIL)
    page.get_by_role("link", name="Reviews").click()
    assert page.locator("#recheck").inner_text() == "Badges to re-check"

    def waiting() -> int:
        return int(page.locator("#recheck-summary").inner_text().split()[0])

    before = waiting()
    assert before >= 2  # the demo's high-school badges whose evidence was withdrawn
    flagged = page.locator("section.review").filter(has=page.locator("button[value=keep]"))
    # Two learners may share a name (the demo has two): sections are found by their award's id.
    first = flagged.nth(0).get_attribute("aria-labelledby") or ""
    second = flagged.nth(1).get_attribute("aria-labelledby") or ""
    reason = flagged.nth(0).locator(".review-reason").inner_text()
    assert reason.startswith("Why it needs a second look: A piece of evidence behind this badge was")
    withdrawn = flagged.nth(0).locator("li.timeline__withdrawn")
    assert withdrawn.count() >= 1
    assert "withdrawn" in withdrawn.first.locator(".tag").inner_text()
    assert withdrawn.first.locator(".withdrawn-reason").inner_text().startswith("Why: ")
    check(page, axe_source, site, "recheck")

    def section(labelled_by: str) -> Locator:
        return page.locator(f'section.review[aria-labelledby="{labelled_by}"]')

    # Revoking needs a reason: the error sits next to the field, nothing is decided.
    section(second).get_by_role("button", name="Revoke the badge").click()
    error = section(second).locator(".error-message").inner_text()
    assert error.endswith("Enter the reason for revoking: the award keeps it")
    assert waiting() == before
    check(page, axe_source, site, "recheck-error")

    section(first).get_by_role("button", name="Keep the badge").click()
    assert page.locator("#done").inner_text().startswith("Badge kept")
    assert waiting() == before - 1 and section(first).count() == 0

    section(second).get_by_label("Reason").fill("The grade it relied on was entered for another learner.")
    section(second).get_by_role("button", name="Revoke the badge").click()
    assert page.locator("#done").inner_text().startswith("Badge revoked")
    assert waiting() == before - 2 and section(second).count() == 0
    check(page, axe_source, site, "recheck-done")


def test_district_admin_reads_the_dashboard(page: Page, site: Site, axe_source: str) -> None:
    sign_in_by_link(page, site, ADMIN_EMAIL)
    page.get_by_role("link", name="Dashboard").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Dashboard"
    for school in ("Harbor View Middle School", "Riverside High School"):
        assert page.get_by_role("heading", name=school).count() == 1
    wide = page.locator(".chart__wide svg.bar-chart")
    assert wide.count() >= 3
    assert page.locator("table caption").count() == wide.count()
    # Each chart is drawn twice, wide and compact; a phone shows the compact one, readable as it is.
    assert page.locator(".chart__compact svg.bar-chart").count() == wide.count()
    check(page, axe_source, site, "dashboard")
