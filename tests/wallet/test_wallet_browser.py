"""The wallet pages in a real browser: Debian's Chromium driven by Playwright against the service served by
uvicorn over real HTTP. A wallet (httpx) registers and starts the authorization; the learner signs in by the
emailed link, reads the consent page, allows; the wallet gets its tokens; the learner disconnects it on "My
connected wallets". axe-core checks each page and none may scroll sideways, at
1280 and 375 px; screenshots go to var/screenshots/wallet-*."""

from __future__ import annotations

import asyncio
import email
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page

from service.config import Settings
from service.db import Database
from service.identity.mailer import outbox_dir
from service.wallet.scopes import CLR, OB
from tests.wallet.helpers import District, district, metadata, pkce
from tests.web.browser import check_page, chromium, live_site, load_axe, watch_errors


@dataclass(frozen=True)
class Site:
    base: str
    backend: str
    district: District
    settings: Settings


async def _populate(url: str, settings: Settings) -> District:
    db = Database(url, pool_size=2)
    try:
        async with db.session() as session:
            return await district(session, settings)
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def site(backend: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    var = tmp_path_factory.mktemp("wallet-browser")
    with live_site(backend, settings, var) as live:
        made = asyncio.run(_populate(live.database_url, live.env))
        with live.serving():
            yield Site(live.base, backend, made, live.env)


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
    errors = watch_errors(opened, only_from=site.base)
    yield opened
    context.close()
    assert errors == [], errors  # a CSP violation (the redirect to the wallet too) shows up here


def check(page: Page, axe_source: str, site: Site, name: str) -> None:
    check_page(page, axe_source, f"wallet-{name}-{site.backend}")


def latest_link(site: Site) -> str:
    directory = outbox_dir(site.settings)
    messages = [email.message_from_bytes(p.read_bytes()) for p in sorted(directory.glob("*.eml"))]
    body = [m for m in messages if m["To"] == site.district.learner_email][-1].get_payload(decode=True)
    assert isinstance(body, bytes)
    return next(line.strip() for line in body.decode().splitlines() if "/wallet/sign-in/link/" in line)


def test_connect_a_wallet_and_disconnect_it(page: Page, site: Site, axe_source: str) -> None:
    slug = site.district.slug
    callback = f"{site.base}/health"  # the wallet's redirection URL: any page that answers 200 will do
    wallet = httpx.Client(base_url=site.base)
    registered = wallet.post(
        f"/ims/oauth/{slug}/register", json={**metadata(), "redirect_uris": [callback]}
    ).json()
    verifier, challenge = pkce()
    scope = f"{OB.read} {OB.profile_read} {CLR.read}"
    start = httpx.URL(f"{site.base}/ims/oauth/{slug}/authorize").copy_merge_params(
        {
            "response_type": "code",
            "client_id": registered["client_id"],
            "redirect_uri": callback,
            "scope": scope,
            "state": "browser-state",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    page.goto(str(start))
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in to connect Example Wallet"
    check(page, axe_source, site, "sign-in")
    page.get_by_label("Your school email address").fill(site.district.learner_email)
    page.get_by_role("button", name="Send me a sign-in link").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Check your email"
    check(page, axe_source, site, "link-sent")

    page.goto(latest_link(site))
    assert page.get_by_role("heading", level=1).inner_text() == "Connect Example Wallet?"
    scopes = page.locator("#scopes").inner_text()
    assert "see the badges the district issued to you" in scopes
    assert "see your profile" in scopes and "learner records (transcripts)" in scopes
    check(page, axe_source, site, "consent")
    page.keyboard.press("Tab")  # keyboard reachable: the decision buttons are plain buttons in a form
    page.get_by_role("button", name="Allow", exact=True).click()
    page.wait_for_url(f"{callback}?*")
    answer = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert answer["state"] == "browser-state"
    tokens = wallet.post(
        f"/ims/oauth/{slug}/token",
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": callback,
            "code_verifier": verifier,
        },
        auth=(registered["client_id"], registered["client_secret"]),
    )
    assert tokens.status_code == 200, tokens.text
    bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    assert wallet.get(f"/ims/ob/v3p0/{slug}/credentials", headers=bearer).headers["x-total-count"] == "1"

    page.goto(f"{site.base}/wallet/connections")
    assert "Example Wallet" in page.locator("main").inner_text()
    check(page, axe_source, site, "connections")
    page.get_by_role("button", name="Disconnect Example Wallet").click()
    assert "Example Wallet is disconnected" in page.locator("#disconnected").inner_text()
    check(page, axe_source, site, "disconnected")
    assert wallet.get(f"/ims/ob/v3p0/{slug}/credentials", headers=bearer).status_code == 401
    wallet.close()


def test_unknown_district_at_authorize_is_a_page(browser: Browser, site: Site, axe_source: str) -> None:
    """A wallet pointing at a district that is not here: the learner reads a page saying so (404), in the
    wallet pages' layout, accessible, on a phone too; no redirect anywhere."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        _, challenge = pkce()
        start = httpx.URL(f"{site.base}/ims/oauth/no-such-district/authorize").copy_merge_params(
            {"response_type": "code", "client_id": "x", "code_challenge": challenge}
        )
        answer = page.goto(str(start))
        assert answer is not None and answer.status == 404
        assert page.url == str(start)
        assert page.get_by_role("heading", level=1).inner_text() == "No such school district"
        assert "no-such-district" in page.locator("main").inner_text()
        check(page, axe_source, site, "unknown-district")
    finally:
        context.close()
