"""GET /transcripts/{uuid} as a page (text/html) and /transcripts/{uuid}.pdf, on a transcript the service
generated: what a reader sees, the PDF's first page rendered, its embedded credential verified through
POST /api/v1/verify, revocation shown, bad input answered with 4xx. No browser: httpx against the app."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
import pypdfium2 as pdfium
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.credentials.pdf import extract_pdf
from service.roster.models import Person
from service.roster.repository import RosterRepository
from service.tenancy.repository import TenantRepository
from tests.factories import Actors
from tests.transcripts.helpers import seed

WRITE = "transcripts:write"


async def _generate(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> tuple[str, dict[str, Any], Person]:
    seeded = await seed(session, actors.a.tenant.id, settings)
    made = await http.post(
        f"/api/v1/learners/{seeded.learner_id}/transcripts", json={}, headers=await actors.a.headers(WRITE)
    )
    assert made.status_code == 201, made.text
    person = await RosterRepository(session).get(Person, actors.a.tenant.id, seeded.learner_id)
    assert person is not None
    return made.headers["Portrait-Transcript-Id"], made.json(), person


def _pdf_text(pdf: bytes) -> tuple[str, tuple[float, float], int]:
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        textpage = page.get_textpage()
        text = " ".join(textpage.get_text_range().split())
        bitmap = page.render(scale=0.5, grayscale=True)
        ink = sum(1 for byte in bytes(bitmap.buffer) if byte < 128)
        size = page.get_size()
        bitmap.close()
        textpage.close()
        page.close()
    finally:
        document.close()
    return text, size, ink


def _visible(html: str) -> str:
    """The page's text, tags dropped and spaces collapsed (what a reader sees, roughly)."""
    text = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return " ".join(text.split()).replace("&#39;", "'").replace("&amp;", "&")


async def test_page_and_pdf_show_the_transcript(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    tid, credential, person = await _generate(http, actors, session, settings)
    display = f"{person.preferred_name or person.given_name} {person.family_name[:1]}."

    page = await http.get(f"/transcripts/{tid}", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "Content-Security-Policy" in page.headers
    html = page.text
    text = _visible(html)
    for expected in (
        f"Learner {display}",
        f"District {actors.a.tenant.name}",
        "Not revoked" if "Not revoked" in text else "not revoked",
        "Badges earned",
        "Courses by term",
        "Fall 2025 (2025-2026)",
        "MATH101 Algebra I A- 1.0",
        "ENG9 English 9 93 0.5",
        "Chemistry in progress",
        "Total credits earned: 1.5",
    ):
        assert expected in text, expected
    # the chart inline: an accessible SVG, with the levels in words and the list alternative
    assert re.search(r'<svg [^>]*role="img" aria-labelledby="portrait-chart-title portrait-chart-desc"', html)
    assert "Developing, 2 of 4" in html
    assert 'id="chart-text"' in html
    # the QR code, the link, the PDFs and the JSON
    assert 'class="transcript__qr-code"' in html
    assert f'href="{settings.public_url}/transcripts/{tid}"' in html
    assert f'href="/transcripts/{tid}.pdf"' in html and f'href="/transcripts/{tid}.pdf?paper=a4"' in html
    assert "<script" not in html
    # the badge row carries its date
    badge = credential["credentialSubject"]["verifiableCredential"][0]
    assert badge["name"] in text

    letter = await http.get(f"/transcripts/{tid}.pdf")
    assert letter.status_code == 200
    assert letter.headers["content-type"] == "application/pdf"
    assert letter.headers["content-disposition"] == f'inline; filename="transcript-{tid}.pdf"'
    first, size, ink = _pdf_text(letter.content)
    assert size == pytest.approx((612, 792), abs=1)
    assert ink > 1000  # the page is drawn, not blank
    for expected in (
        f"Learner {display}",
        f"District {actors.a.tenant.name}",
        "Developing, 2 of 4",
        badge["name"],
        "MATH101 Algebra I A- 1.0",
        "Total credits earned: 1.5",
        f"{settings.public_url}/transcripts/{tid}",
    ):
        assert expected in first, expected
    a4 = await http.get(f"/transcripts/{tid}.pdf", params={"paper": "a4"})
    assert _pdf_text(a4.content)[1] == pytest.approx((595.3, 841.9), abs=1)

    # The PDF carries the credential exactly as served at its JSON URL, and it verifies from the PDF.
    served = await http.get(f"/transcripts/{tid}.json")
    assert extract_pdf(letter.content) == served.text
    verified = await http.post(
        "/api/v1/verify", content=letter.content, headers={"content-type": "application/pdf"}
    )
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["source"] == "pdf"
    assert body["verified"] is True, body
    assert body["credential"] == json.loads(served.text)


async def test_json_stays_the_default_and_bad_requests_are_4xx(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    tid, credential, _person = await _generate(http, actors, session, settings)
    default = await http.get(f"/transcripts/{tid}", headers={"Accept": "*/*"})
    assert default.headers["content-type"].startswith("application/vc+ld+json")
    assert default.json() == credential
    assert (await http.get(f"/transcripts/{tid}.pdf", params={"paper": "legal"})).status_code == 422
    missing = uuid.uuid4()
    assert (await http.get(f"/transcripts/{missing}.pdf")).status_code == 404
    assert (await http.get(f"/transcripts/{missing}", headers={"Accept": "text/html"})).status_code == 404
    assert (await http.get("/transcripts/not-a-uuid.pdf")).status_code == 422


async def test_revoked_transcript_says_so(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    tid, _credential, _person = await _generate(http, actors, session, settings)
    before = await http.get(f"/transcripts/{tid}.pdf")
    revoked = await http.post(
        f"/api/v1/transcripts/{tid}/revoke",
        json={"reason": "issued in error"},
        headers=await actors.a.headers(WRITE),
    )
    assert revoked.status_code == 200, revoked.text
    page = await http.get(f"/transcripts/{tid}", headers={"Accept": "text/html"})
    assert 'data-status="revoked"' in page.text and "Revoked on" in page.text
    assert "issued in error" not in page.text  # the date, never the reason
    after = await http.get(f"/transcripts/{tid}.pdf")
    assert after.content != before.content  # not the kept copy of the unrevoked one
    text = _pdf_text(after.content)[0]
    assert "REVOKED on" in text and "issued in error" not in text
    verdict = await http.post(
        "/api/v1/verify", content=after.content, headers={"content-type": "application/pdf"}
    )
    assert verdict.json()["verified"] is False


async def test_the_district_decides_how_the_learner_is_named(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    tid, _credential, person = await _generate(http, actors, session, settings)
    tenant = await TenantRepository(session).get(actors.a.tenant.id)
    assert tenant is not None
    given = person.preferred_name or person.given_name
    for style, expected in (("full", f"Learner {given} {person.family_name}"), ("none", "Learner A learner")):
        tenant.public_learner_name = style
        session.add(tenant)
        await session.flush()
        page = await http.get(f"/transcripts/{tid}", headers={"Accept": "text/html"})
        assert expected in _visible(page.text), style
        pdf = await http.get(f"/transcripts/{tid}.pdf")
        text = _pdf_text(pdf.content)[0]
        assert (f"{given} {person.family_name}" in text) == (style == "full")
        assert ("(name not shown)" in text) == (style == "none")


async def test_badge_listing_leaves_transcripts_out(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    """A transcript is stored with the badges but listed and served under /transcripts: the badge list's
    links must all open (this failed once the demo generated transcripts)."""
    tid, _credential, _person = await _generate(http, actors, session, settings)
    listed = await http.get(
        "/api/v1/credentials", params={"limit": 100}, headers=await actors.a.headers("credentials:read")
    )
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert items and all(tid not in item["id"] for item in items)
    for item in items:
        assert (await http.get("/" + item["id"].split("/", 3)[3])).status_code == 200
