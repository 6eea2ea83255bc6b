"""The transcript page in a real browser: Debian's Chromium driven by Playwright, against the service served
by uvicorn over real HTTP, with a transcript the service generated (a badge, a level record, three course
records). axe-core (tests/web/node, installed by the test when missing) checks the page on a desktop and
a phone; printing it gives Letter and A4 pages with the chart and the courses; the PDF link answers a PDF.
Screenshots are kept under var/screenshots/.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pypdfium2 as pdfium
import pytest
from playwright.sync_api import Browser, Page

from service.config import Settings
from service.db import Database
from service.roster.models import Person
from service.roster.repository import RosterRepository
from service.transcripts.reading import learner_display
from service.transcripts.schemas import TranscriptOptions
from service.transcripts.service import TranscriptService
from tests.factories import make_tenant
from tests.transcripts.helpers import seed
from tests.web.browser import (
    DESKTOP,
    PHONE,
    check_page,
    chromium,
    live_site,
    load_axe,
    screenshot,
    serious_violations,
)


@dataclass(frozen=True)
class Served:
    base: str
    backend: str
    transcript_id: str
    learner_display: str

    @property
    def url(self) -> str:
        return f"{self.base}/transcripts/{self.transcript_id}"


async def _generate(url: str, settings: Settings) -> tuple[str, str]:
    db = Database(url, pool_size=4)
    try:
        async with db.session() as session:
            tenant = await make_tenant(session, settings)
            seeded = await seed(session, tenant.id, settings)
            made = await TranscriptService(session, tenant.id, settings).generate(
                seeded.learner_id, TranscriptOptions()
            )
            transcript_id = str(made.transcript.id)
            person = await RosterRepository(session).get(Person, tenant.id, seeded.learner_id)
            await session.commit()
        return transcript_id, learner_display(person)
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def served(backend: str, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    var = tmp_path_factory.mktemp("transcript-browser")
    with live_site(backend, settings, var) as live:
        transcript_id, display = asyncio.run(_generate(live.database_url, live.env))
        assert display
        with live.serving():
            yield Served(live.base, backend, transcript_id, display)


@pytest.fixture(scope="module")
def axe_source() -> str:
    return load_axe()


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[Browser]:
    """After ``served``: Playwright's sync API runs an event loop of its own."""
    with chromium() as launched:
        yield launched


def _open(browser: Browser, served: Served, viewport: dict[str, int]) -> tuple[Page, list[str]]:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    errors: list[str] = []
    # A CSP violation or a failing script is a console error. Failed loads are reported with their URL by
    # the response handler; the browser's own /favicon.ico probe (no page asks for it) is not.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(served.url)
    return page, errors


def _axe(page: Page, axe_source: str) -> list[tuple[str, str]]:
    return [(v["id"], v["impact"]) for v in serious_violations(page, axe_source)]


def _shot(page: Page, served: Served, name: str) -> None:
    screenshot(page, f"{name}-{served.backend}")


def test_transcript_page_desktop_and_phone(browser: Browser, served: Served, axe_source: str) -> None:
    page, errors = _open(browser, served, DESKTOP)
    assert page.locator("h1").inner_text().strip().startswith("Extended transcript")
    assert served.learner_display in page.locator(".summary-list").inner_text()
    assert page.locator("#status").get_attribute("data-status") == "active"
    chart = page.locator("#portrait svg[role=img]:visible")  # the wide layout; the compact one is hidden
    assert chart.count() == 1 and chart.bounding_box() is not None
    assert (chart.get_attribute("viewBox") or "").split()[2] == "660"
    assert "Developing, 2 of 4" in (chart.text_content() or "")
    assert page.locator("#courses table").count() == 3  # three terms
    assert _axe(page, axe_source) == []
    _shot(page, served, "transcript-page")
    page.click("#chart-text summary")
    assert page.locator("#chart-text li").count() >= 2
    assert errors == [], errors
    page.context.close()

    phone, phone_errors = _open(browser, served, PHONE)
    # The compact chart (the name above the cells): within the screen, drawn at about its own size, so
    # that its text keeps the size it was drawn at and its level is on screen, not scrolled away.
    chart = phone.locator("#portrait svg[role=img]:visible")
    assert chart.count() == 1
    assert (chart.get_attribute("aria-labelledby") or "").startswith("portrait-chart-compact-title")
    view_box = (chart.get_attribute("viewBox") or "").split()
    box = chart.bounding_box()
    assert box is not None and view_box[2] == "340"
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert box["width"] >= 0.95 * 340, box
    assert "Developing, 2 of 4" in (chart.text_content() or "")
    # Nothing wider than the screen (the tables scroll inside their own box), axe-core, tap targets.
    check_page(phone, axe_source, f"transcript-phone-{served.backend}", widths=(PHONE["width"],))
    assert phone_errors == [], phone_errors
    phone.context.close()


@pytest.mark.parametrize(("paper", "size"), [("Letter", (612, 792)), ("A4", (595, 842))])
def test_transcript_page_prints(browser: Browser, served: Served, paper: str, size: tuple[int, int]) -> None:
    page, errors = _open(browser, served, DESKTOP)
    page.emulate_media(media="print")
    assert page.locator(".button-group").is_hidden()  # the controls are not printed
    printed = page.pdf(format=paper, print_background=False)
    document = pdfium.PdfDocument(printed)
    try:
        first = document[0]
        assert first.get_size() == pytest.approx(size, abs=1)
        text = " ".join(first.get_textpage().get_text_range().split())
    finally:
        document.close()
    for expected in ("Extended transcript", served.learner_display, "Badges earned", "Courses by term"):
        assert expected in text, expected
    assert "Download PDF" not in text
    assert errors == [], errors
    page.context.close()


def test_pdf_link_answers_a_pdf(browser: Browser, served: Served) -> None:
    page, _errors = _open(browser, served, DESKTOP)
    href = page.locator("#pdf-a4").get_attribute("href")
    assert href is not None
    response = page.request.get(served.base + href)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF-")
    page.context.close()
