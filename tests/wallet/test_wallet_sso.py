"""A learner signs in to connect a wallet through the district's OpenID Connect provider (panva's
oidc-provider on Node, as in the console's single sign-on tests), matched by email to a learner; staff and
people the roster does not know are refused."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urljoin

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import OutboundSettings, Settings
from service.identity.oidc import OidcClient
from service.identity.schemas import OidcProviderSet
from service.identity.service import IdentityService
from service.net import OutboundPolicy
from service.wallet.scopes import OB
from tests.identity.conftest import oidc_provider
from tests.wallet.helpers import BASE, REDIRECT, authorize_params, csrf_of, district, pkce, query_of, register

CLIENT_ID, CLIENT_SECRET = "portrait-wallet-pages", "test-client-secret-of-the-wallet-pages"
CALLBACK = BASE + "/wallet/sso/callback"
_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"', re.IGNORECASE)


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with oidc_provider(CLIENT_ID, CLIENT_SECRET, [CALLBACK]) as url:
        yield url


@pytest.fixture
async def web(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    app.state.oidc_client = OidcClient(OutboundPolicy.from_settings(OutboundSettings(allow_private=True)))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


async def through_provider(start: str, login: str) -> str:
    """Sign in at the provider as ``login`` and consent; the callback URL it sends the browser to."""
    async with httpx.AsyncClient(timeout=30) as idp:
        url = start
        for _ in range(12):
            response = await idp.get(url)
            if response.status_code in (302, 303):
                url = urljoin(url, response.headers["location"])
                if url.startswith(CALLBACK):
                    return url
                continue
            assert response.status_code == 200, response.text
            action = urljoin(url, html.unescape(_FORM.search(response.text).group(1)))  # type: ignore[union-attr]
            data = (
                {"prompt": "login", "login": login, "password": "anything"}
                if 'name="login"' in response.text
                else {"prompt": "consent"}
            )
            posted = await idp.post(action, data=data)
            assert posted.status_code in (302, 303), posted.text
            url = urljoin(action, posted.headers["location"])
            if url.startswith(CALLBACK):
                return url
    raise AssertionError("the provider never sent the browser back")


async def test_learner_signs_in_with_the_districts_provider(
    web: httpx.AsyncClient, session: AsyncSession, settings: Settings, issuer: str
) -> None:
    d = await district(session, settings)
    identity = IdentityService(session, settings)
    await identity.set_oidc_provider(
        await identity.tenant_by_slug(d.slug),
        OidcProviderSet(issuer=issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET),
    )
    await session.commit()
    client = await register(web, f"/ims/oauth/{d.slug}/register")
    verifier, challenge = pkce()

    async def start() -> tuple[str, str]:
        started = await web.get(
            f"/ims/oauth/{d.slug}/authorize", params=authorize_params(client, challenge, OB.read)
        )
        consent_url = started.headers["location"]
        page = await web.get(consent_url)
        assert page.status_code == 200 and 'id="sso-start"' in page.text
        href = html.unescape(re.search(r'href="(/wallet/sso/start[^"]+)"', page.text).group(1))  # type: ignore[union-attr]
        going = await web.get(href)
        assert going.status_code == 303, going.text
        return consent_url, going.headers["location"]

    # Someone the roster does not have as a learner: refused with a page that says so.
    _, provider_url = await start()
    refused = await web.get(
        (await through_provider(provider_url, "stranger@nowhere.test")).removeprefix(BASE)
    )
    assert refused.status_code == 403 and "matches no learner" in refused.text
    # The learner, by the email on the roster: back to the consent page, signed in.
    consent_url, provider_url = await start()
    back = await web.get((await through_provider(provider_url, d.learner_email)).removeprefix(BASE))
    assert back.status_code == 303 and back.headers["location"] == consent_url
    page = await web.get(consent_url)
    assert "Connect Example Wallet?" in page.text
    decided = await web.post(consent_url, data={"csrf_token": csrf_of(page.text), "decision": "approve"})
    code = query_of(decided.headers["location"])["code"]
    token = await web.post(
        f"/ims/oauth/{d.slug}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        headers=client.basic,
    )
    assert token.status_code == 200, token.text
    # A callback replayed (or from another browser) does not sign anyone in.
    replay = await web.get("/wallet/sso/callback", params={"state": "x" * 43, "code": "abc"})
    assert replay.status_code == 401
