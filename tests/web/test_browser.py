"""The public pages in a real browser: Debian's Chromium driven by Playwright, against the service
served by uvicorn over real HTTP with the demo district loaded. axe-core (from the npm registry,
installed by the test itself) checks each page; screenshots are kept under var/screenshots/.

Covers: badge page -> Verify button -> valid; a pasted link; PNG and PDF uploads; a tampered
credential (verdict first, claims withheld); a revoked one ("Revoked on"); recipient match and
mismatch; phone width without overlap; every link inside a demo credential answering 200 to an
anonymous browser and to a JSON-LD client.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from service.config import Settings, VerifySettings
from tests.web.browser import (
    DESKTOP,
    PHONE,
    check_page,
    chromium,
    live_site,
    load_axe,
    load_demo_at,
    screenshot,
    serious_violations,
    watch_errors,
)
from tests.web.pdfs import pdf_with_attachment
from tests.web.walk import BROWSER, JSON_LD, own_urls


@dataclass
class Site:
    base: str
    backend: str
    client_id: str
    client_secret: str

    def token(self, scope: str) -> dict[str, str]:
        answer = httpx.post(
            f"{self.base}/oauth/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(self.client_id, self.client_secret),
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def credentials(self, limit: int = 5) -> list[dict[str, Any]]:
        listed = httpx.get(
            f"{self.base}/api/v1/credentials",
            params={"limit": limit, "status": "active"},
            headers=self.token("credentials:read"),
        )
        assert listed.status_code == 200, listed.text
        items: list[dict[str, Any]] = listed.json()["items"]
        assert items
        return items


@pytest.fixture(scope="module")
def site(backend: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    var = tmp_path_factory.mktemp("browser")
    with live_site(
        backend,
        settings,
        var,
        verify=VerifySettings(rate_limit_per_minute=100_000, rate_limit_burst=10_000),
        jobs_backend="inprocess",
    ) as live:
        asyncio.run(load_demo_at(live.database_url, live.env))
        client = json.loads((var / "demo-client.json").read_text())
        with live.serving():
            yield Site(live.base, backend, client["client_id"], client["client_secret"])


@pytest.fixture(scope="module")
def axe_source() -> str:
    return load_axe()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Browser]:
    """Needs ``site`` first: Playwright's sync API runs an event loop of its own, and the site's set-up
    and tear-down use asyncio.run()."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    opened = context.new_page()
    errors = watch_errors(opened)
    yield opened
    context.close()
    # A CSP violation or a failing script shows up as a console error.
    assert errors == [], errors


def shot(page: Page, site: Site, name: str) -> None:
    screenshot(page, f"{name}-{site.backend}")


def check_accessibility(page: Page, axe_source: str) -> None:
    found = serious_violations(page, axe_source)
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found]
    assert serious == [], serious


def first_heading(page: Page) -> str:
    return page.locator("h1, h2").first.inner_text().strip()


def test_every_link_in_a_demo_credential_answers(site: Site) -> None:
    urls: dict[str, None] = {}
    for item in site.credentials(limit=20):  # competency badges and the whole-Portrait badge
        credential = httpx.get(item["id"], headers={"Accept": "application/vc+ld+json"}).json()
        urls.update(dict.fromkeys(own_urls(credential, site.base)))
    for part in (
        "/credentials/",
        "/did.json",
        "/achievements/",
        "/CFItems/",
        "/status-lists/",
        "/issuers/demo",
    ):
        assert any(part in url for url in urls), (part, urls)
    with httpx.Client() as anonymous:
        for url in urls:
            for accept in (BROWSER, JSON_LD):
                response = anonymous.get(url, headers={"Accept": accept})
                assert response.status_code == 200, (url, accept, response.status_code)


def test_badge_page_verify_button(page: Page, site: Site, axe_source: str) -> None:
    item = site.credentials(limit=1)[0]
    page.goto(item["id"])
    assert page.locator('meta[property="og:title"]').count() == 1
    assert page.locator("#status").get_attribute("data-status") == "active"
    check_accessibility(page, axe_source)
    shot(page, site, "badge-page")
    page.click("#verify-button")
    result = page.locator("#verify-result #result")
    result.wait_for()
    assert result.get_attribute("data-state") == "valid"
    assert result.locator("h2").first.inner_text().strip() == "Valid"
    assert page.url == item["id"]  # shown in place, no navigation
    check_accessibility(page, axe_source)
    shot(page, site, "badge-page-verified")


def test_paste_a_link(page: Page, site: Site, axe_source: str) -> None:
    item = site.credentials(limit=1)[0]
    page.goto(f"{site.base}/verify")
    assert first_heading(page) == "Verify a credential"
    check_accessibility(page, axe_source)
    shot(page, site, "verify-form")
    page.fill("#url", item["id"])
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert first_heading(page) == "Valid"
    assert page.input_value("#url") == item["id"]  # the input is kept
    check_accessibility(page, axe_source)
    shot(page, site, "verify-valid")


def test_upload_png_and_pdf(page: Page, site: Site, tmp_path: Path) -> None:
    item = site.credentials(limit=1)[0]
    png = tmp_path / "badge.png"
    png.write_bytes(httpx.get(f"{item['id']}/badge.png").content)
    document = httpx.get(item["id"], headers={"Accept": "application/vc+ld+json"}).text
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(pdf_with_attachment(document))
    for upload in (png, pdf):
        page.goto(f"{site.base}/verify")
        page.set_input_files("#file", str(upload))
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert first_heading(page) == "Valid", upload.name
        assert f"Read from: {upload.suffix[1:]}" in page.inner_text("#result")
    shot(page, site, "verify-pdf")


def test_tampered_credential_is_not_shown_as_true(page: Page, site: Site, axe_source: str) -> None:
    item = site.credentials(limit=1)[0]
    credential = httpx.get(item["id"], headers={"Accept": "application/vc+ld+json"}).json()
    credential["name"] = "Master Electrician (Licensed)"
    credential["credentialSubject"]["achievement"]["name"] = "Master Electrician (Licensed)"
    page.goto(f"{site.base}/verify")
    page.fill("#credential", json.dumps(credential, indent=2))
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert first_heading(page) == "Not valid"
    verdict_top = page.locator("#verdict").bounding_box()
    form_top = page.locator("form").bounding_box()
    assert verdict_top is not None and form_top is not None and verdict_top["y"] < form_top["y"]
    assert page.locator("#claims-withheld").is_visible()
    assert "Master Electrician" not in page.inner_text("#result")
    assert page.locator('[data-check="proof"].check--fail').count() == 1
    check_accessibility(page, axe_source)
    shot(page, site, "verify-tampered")


def test_revoked_credential(page: Page, site: Site, axe_source: str) -> None:
    # A badge of a learner without a transcript: the module's site is shared, and a transcript holding
    # a revoked badge would (rightly) not verify in the transcript test below.
    listed = httpx.get(
        f"{site.base}/api/v1/transcripts", params={"limit": 200}, headers=site.token("transcripts:read")
    )
    assert listed.status_code == 200, listed.text
    with_transcripts = {row["learner_id"] for row in listed.json()["items"]}
    item = next(row for row in site.credentials(limit=200) if row["learner_id"] not in with_transcripts)
    revoked = httpx.post(
        f"{site.base}/api/v1/credentials/{item['uuid']}/revoke",
        json={"reason": "academic dishonesty"},
        headers=site.token("credentials:write"),
    )
    assert revoked.status_code == 200, revoked.text
    page.goto(f"{site.base}/verify?url={item['id']}")
    assert first_heading(page).startswith("Revoked on ")
    assert "academic dishonesty" not in page.content()
    shot(page, site, "verify-revoked")
    page.goto(item["id"])
    assert page.locator("#status").get_attribute("data-status") == "revoked"
    assert "Revoked on" in page.inner_text("#status")
    assert "academic dishonesty" not in page.content()
    check_accessibility(page, axe_source)
    shot(page, site, "badge-revoked")


def test_recipient_match_and_mismatch(page: Page, site: Site) -> None:
    item = next(i for i in site.credentials(limit=20) if i.get("learner_id"))
    learner = httpx.get(
        f"{site.base}/api/v1/learners/{item['learner_id']}", headers=site.token("roster:read")
    ).json()
    email = learner.get("email")
    assert email, learner
    for given, expected in ((email.upper(), "Recipient matches"), ("someone@else.example", "does not match")):
        page.goto(f"{site.base}/verify")
        page.fill("#url", item["id"])
        page.fill("#recipient", given)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert expected in page.inner_text("#recipient-result")
        assert page.input_value("#recipient") == given
    shot(page, site, "verify-recipient-mismatch")


def test_phone_width_without_overlap(browser: Browser, site: Site, axe_source: str) -> None:
    item = site.credentials(limit=1)[0]
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        for url, name in (
            (item["id"], "badge-phone"),
            (f"{site.base}/verify?url={item['id']}", "verify-phone"),
        ):
            phone.goto(url)
            width = phone.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name}: the page scrolls sideways ({width}px)"
            selectors = ("h1", ".badge-hero__image", "#status")
            boxes = [
                phone.locator(selector).first.bounding_box()
                for selector in selectors
                if phone.locator(selector).count()
            ]
            present = [box for box in boxes if box is not None]
            for index, upper in enumerate(present):
                for lower in present[index + 1 :]:
                    overlap_x = min(upper["x"] + upper["width"], lower["x"] + lower["width"]) - max(
                        upper["x"], lower["x"]
                    )
                    overlap_y = min(upper["y"] + upper["height"], lower["y"] + lower["height"]) - max(
                        upper["y"], lower["y"]
                    )
                    assert overlap_x <= 0 or overlap_y <= 0, (name, upper, lower)
            check_accessibility(phone, axe_source)
            shot(phone, site, name)
    finally:
        context.close()


def test_linked_public_pages_are_accessible(page: Page, site: Site, axe_source: str) -> None:
    documents = [
        httpx.get(item["id"], headers={"Accept": "application/vc+ld+json"}).json()
        for item in site.credentials(limit=20)
    ]
    credential = next(d for d in documents if d["credentialSubject"]["achievement"].get("alignment"))
    achievement = credential["credentialSubject"]["achievement"]
    targets = {
        "issuer": credential["issuer"]["url"],
        "achievement": achievement["id"],
        "competency": achievement["alignment"][0]["targetUrl"],
    }
    for name, url in targets.items():
        page.goto(url)
        assert page.locator("h1").count() == 1, name
        check_accessibility(page, axe_source)
        shot(page, site, name)


@pytest.mark.parametrize(
    ("path", "ready"),
    [
        ("/docs", ".swagger-ui .info .title"),
        ("/graphql", ".graphiql-container .graphiql-query-editor"),
    ],
)
def test_api_pages_work_offline(browser: Browser, site: Site, path: str, ready: str) -> None:
    """/docs and GraphiQL load every asset from the service: any other host is cut off."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    elsewhere: list[str] = []
    errors: list[str] = []

    def only_the_service(route: Any) -> None:
        if route.request.url.startswith(site.base):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_service)
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        page.goto(f"{site.base}{path}")
        page.locator(ready).first.wait_for(timeout=120_000)  # a large document on a busy machine
        shot(page, site, path.strip("/"))
    finally:
        context.close()
    assert elsewhere == []
    assert errors == []


def test_transcript_verification_and_issuer_badges_at_two_widths(
    browser: Browser, site: Site, axe_source: str
) -> None:
    """/verify on a CLR transcript shows each credential it holds with its own verdict; the issuer page
    lists the district's badges; both at desktop (1280 px) and phone (390 px) width, no sideways scroll."""
    listed = httpx.get(
        f"{site.base}/api/v1/transcripts", params={"limit": 1}, headers=site.token("transcripts:read")
    )
    assert listed.status_code == 200, listed.text
    transcripts = listed.json()["items"]
    assert transcripts, "the demo district has a transcript"
    transcript_url = transcripts[0]["id"]
    issuer_url = httpx.get(
        site.credentials(limit=1)[0]["id"], headers={"Accept": "application/vc+ld+json"}
    ).json()["issuer"]["url"]
    for width, label in ((1280, "desktop"), (390, "phone")):
        context = browser.new_context(
            viewport={"width": width, "height": 900}, is_mobile=label == "phone", has_touch=label == "phone"
        )
        tab = context.new_page()
        try:
            tab.goto(f"{site.base}/verify?url={transcript_url}")
            # On failure, the page's own words say which credential did not verify and why.
            assert first_heading(tab) == "Valid", tab.locator("main").inner_text()[:4000]
            items = tab.locator(".nested-list > li.nested")
            assert items.count() >= 1
            assert all(items.nth(i).get_attribute("data-state") == "valid" for i in range(items.count()))
            items.first.locator("summary").click()  # the checks of one nested credential
            assert items.first.locator(".check").count() == 5
            assert tab.evaluate("() => document.documentElement.scrollWidth") <= width
            check_accessibility(tab, axe_source)
            shot(tab, site, f"verify-transcript-{label}")
            tab.goto(issuer_url)
            badges = tab.locator(".badge-list a")
            assert badges.count() >= 1
            href = badges.first.get_attribute("href")
            assert href is not None and "/achievements/" in href
            assert tab.evaluate("() => document.documentElement.scrollWidth") <= width
            check_accessibility(tab, axe_source)
            shot(tab, site, f"issuer-badges-{label}")
        finally:
            context.close()


def test_public_pages_fit_a_phone(browser: Browser, site: Site, axe_source: str) -> None:
    """Every public page at 1280 and 375 px: no sideways scrolling (a long link in an error wraps), no
    serious axe-core violation, controls at least 44 px tall on the phone."""
    item = site.credentials(limit=1)[0]
    credential = httpx.get(item["id"], headers={"Accept": "application/vc+ld+json"}).json()
    achievement = credential["credentialSubject"]["achievement"]
    missing = f"{site.base}/credentials/00000000-0000-0000-0000-000000000000"
    pages = {
        "verify-form": f"{site.base}/verify",
        "verify-valid": f"{site.base}/verify?url={item['id']}",
        "verify-unreachable": f"{site.base}/verify?url={missing}",  # the error quotes the long link
        "credential": item["id"],
        "issuer": credential["issuer"]["url"],
        "achievement": achievement["id"],
        "console-sign-in": f"{site.base}/console/sign-in",
        "console-expired-link": f"{site.base}/console/sign-in/link/no-such-token",  # an error page
    }
    context = browser.new_context(viewport=DESKTOP)
    tab = context.new_page()
    try:
        for name, url in pages.items():
            tab.goto(url)
            assert tab.locator("h1, h2").count() >= 1, name
            check_page(tab, axe_source, f"fit-{name}-{site.backend}")
        if achievement.get("alignment"):
            tab.goto(achievement["alignment"][0]["targetUrl"])
            check_page(tab, axe_source, f"fit-competency-{site.backend}")
        tab.goto(f"{site.base}/verify")
        tampered = {**credential, "name": "Master Electrician (Licensed)"}
        tab.fill("#credential", json.dumps(tampered))
        tab.click("main button[type=submit]")
        tab.wait_for_load_state()
        assert first_heading(tab) == "Not valid"
        check_page(tab, axe_source, f"fit-verify-tampered-{site.backend}")
    finally:
        context.close()
