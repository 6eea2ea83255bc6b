"""The console in a real browser: Debian's Chromium driven by Playwright, against the service served by
uvicorn over real HTTP. Sign in by emailed link and by single sign-on at a real OpenID Connect provider
(oidc-provider on Node), search a learner, open their page, sign out. axe-core checks each page for
serious or critical violations; screenshots go to var/screenshots/console-*.png."""

from __future__ import annotations

import asyncio
import email
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from service.awards.schemas import AchievementCreate
from service.awards.service import AwardService
from service.config import OutboundSettings, Settings
from service.db import Database
from service.evidence.schemas import EvidenceCreate
from service.evidence.service import EvidenceService
from service.identity.mailer import outbox_dir
from service.identity.schemas import OidcProviderSet
from service.identity.service import IdentityService
from service.roster.schemas import OrgCreate, PersonCreate
from service.roster.service import RosterService
from tests.factories import make_portrait, make_tenant_ref
from tests.identity.conftest import oidc_provider
from tests.web.browser import check_page, chromium, live_site, load_axe, watch_errors

LEAD_EMAIL = "lead@browser-district.test"
CLIENT_ID, CLIENT_SECRET = "portrait-browser", "browser-test-client-secret"


@dataclass(frozen=True)
class Site:
    base: str
    backend: str
    slug: str
    var: Path


async def _populate(url: str, settings: Settings, issuer: str) -> str:
    db = Database(url, pool_size=2)
    try:
        async with db.session() as session:
            tenant = await make_tenant_ref(session, settings)
            roster = RosterService(session, tenant.id)
            district = await roster.create_org(OrgCreate(name="Browser District", type="district"))
            await roster.create_person(
                PersonCreate(
                    role="districtAdministrator",
                    given_name="Lee",
                    family_name="Lead",
                    email=LEAD_EMAIL,
                    org_ids=[district.id],
                )
            )
            portrait = await make_portrait(session, tenant.id, competencies=2, learners=3, classes=1)
            await AwardService(session, tenant.id).create_achievement(
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
            await EvidenceService(session, tenant.id).create_one(
                EvidenceCreate(
                    learner_id=portrait.learner_ids[0],
                    competency_id=portrait.competency_ids[0],
                    source="rubric",
                    level=3,
                    class_id=portrait.class_ids[0],
                    observed_at=datetime(2026, 10, 5, 14, 0, tzinfo=UTC),
                    narrative="Led the lab group.",
                ),
                created_by="test",
            )
            identity = IdentityService(session, settings)
            await identity.set_oidc_provider(
                await identity.tenant_by_slug(tenant.slug),
                OidcProviderSet(issuer=issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET),
            )
            await session.commit()
            return tenant.slug
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def site(backend: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    var = tmp_path_factory.mktemp("console-browser")
    with live_site(backend, settings, var, outbound=OutboundSettings(allow_private=True)) as live:
        callback = f"{live.base}/console/sso/callback"
        with oidc_provider(CLIENT_ID, CLIENT_SECRET, [callback]) as issuer:
            slug = asyncio.run(_populate(live.database_url, live.env, issuer))
            with live.serving():
                yield Site(live.base, backend, slug, var)


@pytest.fixture(scope="module")
def axe_source() -> str:
    return load_axe()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    # Only our pages count (the identity provider's pages ask for web fonts this machine cannot reach).
    errors = watch_errors(opened, only_from=site.base)
    yield opened
    context.close()
    assert errors == [], errors  # a CSP violation or a failing request shows up here


def check(page: Page, axe_source: str, site: Site, name: str) -> None:
    check_page(page, axe_source, f"console-{name}-{site.backend}")


def latest_link(site: Site, to: str) -> str:
    messages = [email.message_from_bytes(p.read_bytes()) for p in sorted(outbox_dir_of(site).glob("*.eml"))]
    body = [m for m in messages if m["To"] == to][-1].get_payload(decode=True)
    assert isinstance(body, bytes)
    return next(line.strip() for line in body.decode().splitlines() if "/console/sign-in/link/" in line)


def outbox_dir_of(site: Site) -> Path:
    return outbox_dir(Settings(var_dir=site.var, database_url="sqlite+aiosqlite:///:memory:"))


def test_sign_in_by_link_search_a_learner_and_sign_out(page: Page, site: Site, axe_source: str) -> None:
    page.goto(f"{site.base}/console/")
    assert page.url == f"{site.base}/console/sign-in"
    check(page, axe_source, site, "sign-in")
    page.get_by_label("District").first.fill(site.slug)
    page.get_by_label("Email address").fill(LEAD_EMAIL)
    page.get_by_role("button", name="Send me a sign-in link").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Check your email"
    check(page, axe_source, site, "link-sent")

    page.goto(latest_link(site, LEAD_EMAIL))
    assert page.url == f"{site.base}/console/"
    assert "Signed in as Lee Lead (District admin)" in page.locator("#signed-in-as").inner_text()
    check(page, axe_source, site, "home")

    page.get_by_label("Find a learner by name, email or student number").fill("L0")
    page.get_by_role("button", name="Search").click()
    assert "1 learner matching" in page.locator("#results").inner_text()
    check(page, axe_source, site, "search")
    page.get_by_role("link", name="Learner, L0").click()
    assert page.get_by_role("heading", level=1).inner_text() == "L0 Learner"
    assert "Extending" in page.locator("table").first.inner_text()
    assert "Collaborator" in page.locator("#badges + dl, #badges ~ dl").first.inner_text()
    assert "Led the lab group." in page.locator("ol.timeline").inner_text()
    check(page, axe_source, site, "learner")
    # At phone width the levels table's caption reads above its header row, across the table (a
    # display:block caption was squeezed into the first column, under the header).
    page.set_viewport_size({"width": 390, "height": 844})
    caption = page.locator("table").first.locator("caption").bounding_box()
    header = page.locator("table").first.locator("thead").bounding_box()
    assert caption is not None and header is not None
    assert caption["y"] + caption["height"] <= header["y"], (caption, header)
    assert caption["width"] >= 0.9 * header["width"], (caption, header)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("link", name="Staff roles").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Staff roles"
    check(page, axe_source, site, "staff")

    page.get_by_role("button", name="Sign out", exact=True).click()
    assert page.url == f"{site.base}/console/sign-in"
    page.goto(f"{site.base}/console/")
    assert page.url == f"{site.base}/console/sign-in"


def test_sign_in_with_the_districts_sso(page: Page, site: Site, axe_source: str) -> None:
    page.goto(f"{site.base}/console/sign-in?tenant={site.slug}")
    check(page, axe_source, site, "sign-in-sso")
    page.locator("#sso-start").click()
    # The provider's own pages (oidc-provider's development login and consent forms).
    page.locator('input[name="login"]').fill(LEAD_EMAIL)
    page.locator('input[name="password"]').fill("any password")
    page.locator('button[type="submit"]').click()
    page.locator('button[type="submit"]').click()  # consent
    page.wait_for_url(f"{site.base}/console/")
    assert "Signed in as Lee Lead" in page.locator("#signed-in-as").inner_text()
