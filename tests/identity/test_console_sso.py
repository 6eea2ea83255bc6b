"""Single sign-on against a real OpenID Connect provider: panva's oidc-provider from the npm registry, run by
Node (tests/identity/node/provider.mjs; the test installs the pinned package itself with ``npm ci``).

Covers: authorization code + PKCE, ID token checks, matching by email and by sourcedId, unknown people
refused with a clear page, a callback without this browser's state cookie, a replayed callback, the
client secret encrypted at rest."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import OutboundSettings, Settings
from service.identity.models import OidcProvider, StaffSession
from service.identity.oidc import OidcClient
from service.identity.schemas import OidcProviderSet
from service.identity.service import IdentityService
from service.net import OutboundPolicy
from tests.identity.conftest import CONSOLE_BASE, World, oidc_provider

CLIENT_ID = "portrait-console"
CLIENT_SECRET = "test-client-secret-of-the-console"
REDIRECT_URI = CONSOLE_BASE + "/console/sso/callback"
_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"', re.IGNORECASE)


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with oidc_provider(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI]) as url:
        yield url


@pytest.fixture
def sso_app(app: FastAPI) -> FastAPI:
    # The provider listens on 127.0.0.1: let the outbound guard reach it (production refuses private hosts).
    app.state.oidc_client = OidcClient(OutboundPolicy.from_settings(OutboundSettings(allow_private=True)))
    return app


async def configure(session: AsyncSession, settings: Settings, slug: str, issuer: str, **extra: str) -> None:
    service = IdentityService(session, settings)
    tenant = await service.tenant_by_slug(slug)
    await service.set_oidc_provider(
        tenant,
        OidcProviderSet(issuer=issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **extra),  # type: ignore[arg-type]
    )
    await session.commit()


@pytest.fixture
async def idp() -> AsyncIterator[httpx.AsyncClient]:
    """The person's browser at the identity provider (its own cookies)."""
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def through_provider(idp: httpx.AsyncClient, start: str, login: str) -> str:
    """Sign in at the provider as ``login`` and give consent; the URL it sends the browser back to."""
    url = start
    for _ in range(12):
        response = await idp.get(url)
        if response.status_code in (302, 303):
            url = urljoin(url, response.headers["location"])
            if url.startswith(REDIRECT_URI):
                return url
            continue
        assert response.status_code == 200, response.text
        action = urljoin(url, html.unescape(_FORM.search(response.text).group(1)))  # type: ignore[union-attr]
        if 'name="login"' in response.text:
            data = {"prompt": "login", "login": login, "password": "anything"}
        else:
            data = {"prompt": "consent"}
        posted = await idp.post(action, data=data)
        assert posted.status_code in (302, 303), posted.text
        url = urljoin(action, posted.headers["location"])
        if url.startswith(REDIRECT_URI):
            return url
    raise AssertionError("the provider never sent the browser back")


async def start_sso(browser: httpx.AsyncClient, slug: str) -> str:
    response = await browser.get("/console/sso/start", params={"tenant": slug})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["nonce"] and query["state"] and query["redirect_uri"] == [REDIRECT_URI]
    return location


async def back_at_console(browser: httpx.AsyncClient, callback: str) -> httpx.Response:
    return await browser.get(callback.removeprefix(CONSOLE_BASE))


async def sessions(session: AsyncSession) -> int:
    return int((await session.exec(select(func.count()).select_from(StaffSession))).one())


async def test_sso_signs_in_a_staff_member_by_email(
    sso_app: FastAPI,
    browser: httpx.AsyncClient,
    idp: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    world: World,
    issuer: str,
) -> None:
    await configure(session, settings, world.tenant.slug, issuer)
    row = (
        await session.exec(select(OidcProvider).where(col(OidcProvider.tenant_id) == world.tenant.id))
    ).one()
    assert CLIENT_SECRET not in row.client_secret_encrypted and row.client_secret_encrypted.startswith("v1:")

    offered = await browser.get("/console/sign-in", params={"tenant": world.tenant.slug})
    assert f'href="/console/sso/start?tenant={world.tenant.slug}"' in offered.text
    plain = await browser.get("/console/sign-in", params={"tenant": world.other.slug})
    assert "sso-start" not in plain.text and "has no single sign-on" in plain.text

    callback = await through_provider(idp, await start_sso(browser, world.tenant.slug), world.counselor_email)
    response = await back_at_console(browser, callback)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/"
    home = await browser.get("/console/")
    assert home.status_code == 200
    assert "Signed in as Cora Counsel (Counselor)" in home.text
    stored = (await session.exec(select(StaffSession).order_by(col(StaffSession.created_at).desc()))).first()
    assert stored is not None and stored.method == "oidc"

    before = await sessions(session)
    replay = await back_at_console(browser, callback)  # the same code and state again
    assert replay.status_code == 401
    assert "start again" in replay.text
    assert await sessions(session) == before


async def test_sso_refuses_people_not_on_the_roster_with_a_clear_page(
    sso_app: FastAPI,
    browser: httpx.AsyncClient,
    idp: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    world: World,
    issuer: str,
) -> None:
    await configure(session, settings, world.tenant.slug, issuer)
    before = await sessions(session)
    for login in (f"stranger@{world.tenant.slug}.test", world.learner_email, world.other_counselor_email):
        callback = await through_provider(idp, await start_sso(browser, world.tenant.slug), login)
        response = await back_at_console(browser, callback)
        assert response.status_code == 403, (login, response.text)
        assert "Not on the roster" in response.text
        assert "portrait_session" not in browser.cookies
    assert await sessions(session) == before


async def test_sso_matches_by_sourced_id(
    sso_app: FastAPI,
    browser: httpx.AsyncClient,
    idp: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    world: World,
    issuer: str,
) -> None:
    from service.roster.models import Person
    from service.roster.repository import RosterRepository

    teacher = await RosterRepository(session).get(Person, world.tenant.id, world.teacher_id)
    assert teacher is not None
    teacher.sourced_id = "sis-teacher-17"
    session.add(teacher)
    await configure(
        session, settings, world.tenant.slug, issuer, match_by="sourced_id", sourced_id_claim="sourced_id"
    )
    callback = await through_provider(idp, await start_sso(browser, world.tenant.slug), "sis-teacher-17")
    response = await back_at_console(browser, callback)
    assert response.status_code == 303, response.text
    assert "Theo Teach (Educator)" in (await browser.get("/console/")).text


async def test_sso_callback_from_another_browser_is_refused(
    sso_app: FastAPI,
    browser: httpx.AsyncClient,
    second_browser: httpx.AsyncClient,
    idp: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    world: World,
    issuer: str,
) -> None:
    await configure(session, settings, world.tenant.slug, issuer)
    callback = await through_provider(idp, await start_sso(browser, world.tenant.slug), world.counselor_email)
    before = await sessions(session)
    stolen = await back_at_console(second_browser, callback)  # login CSRF: no state cookie here
    assert stolen.status_code == 401
    assert "did not start in this browser" in stolen.text
    assert await sessions(session) == before
    assert (await back_at_console(browser, callback)).status_code == 303  # the right browser still can


async def test_sso_not_configured_and_provider_errors_get_pages(
    sso_app: FastAPI, browser: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: World
) -> None:
    response = await browser.get("/console/sso/start", params={"tenant": world.tenant.slug})
    assert response.status_code == 404
    assert "has not set up single sign-on" in response.text
    unknown = await browser.get("/console/sso/start", params={"tenant": "no-such-district"})
    assert unknown.status_code == 401 and "There is no district" in unknown.text
    denied = await browser.get("/console/sso/callback", params={"error": "access_denied", "state": "x"})
    assert denied.status_code == 401 and "access_denied" in denied.text
