"""The transcript PDF: first page rendered and read back, the embedded credential extracted and verified."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from service.credentials import resolve_did_key_method, verify_credential
from service.credentials.pdf import ATTACHMENT_NAME, embedded_files, extract_pdf
from service.transcripts.pdf import TranscriptPdfError, render_transcript_pdf
from service.transcripts.view import build_transcript_view
from tests.credentials.conftest import fragment_key_resolver
from tests.transcripts.clr_sample import PUBLIC_URL, TRANSCRIPT_ID, build_clr, load_vector

NOW = datetime(2026, 12, 1, tzinfo=UTC)
SIZES = {"us-letter": (612.0, 792.0), "a4": (595.3, 841.9)}


@pytest.fixture(scope="module")
def clr() -> dict[str, Any]:
    return build_clr()


def _pdf(clr: dict[str, Any], paper: Any = "us-letter", **names: Any) -> bytes:
    names = {
        "learner_name": "Ada Lovelace",
        "school_name": "North High",
        "district_name": "North Valley USD",
    } | names
    return render_transcript_pdf(build_transcript_view(clr, **names), clr, paper=paper)


@dataclass(frozen=True)
class Bitmap:
    """A rendered page: grey levels, one byte per pixel, ``stride`` bytes per row."""

    pixels: bytes
    width: int
    height: int
    stride: int


def _first_page(pdf: bytes) -> tuple[str, tuple[float, float], Bitmap]:
    """The first page's text, size (points) and the page rendered to an image (72 dpi, grey)."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        rendered = page.render(scale=1, grayscale=True)
        bitmap = Bitmap(bytes(rendered.buffer), rendered.width, rendered.height, rendered.stride)
        size = page.get_size()
        rendered.close()
        textpage.close()
        page.close()
    finally:
        document.close()
    return text, size, bitmap


def _dark_share(bitmap: Bitmap, left: float, top: float, right: float, bottom: float) -> float:
    """Share of dark pixels in a region given as fractions of the page."""
    buffer = bitmap.pixels
    width, height, stride = bitmap.width, bitmap.height, bitmap.stride
    dark = total = 0
    for y in range(int(top * height), int(bottom * height)):
        row = buffer[y * stride : y * stride + width]
        for x in range(int(left * width), int(right * width)):
            total += 1
            dark += row[x] < 128
    return dark / max(total, 1)


@pytest.mark.parametrize("paper", ["us-letter", "a4"])
def test_first_page_renders_with_everything_a_reader_needs(clr: dict[str, Any], paper: str) -> None:
    text, size, bitmap = _first_page(_pdf(clr, paper))
    assert size == pytest.approx(SIZES[paper], abs=0.5)
    assert abs(bitmap.width - size[0]) <= 1 and abs(bitmap.height - size[1]) <= 1
    flat = " ".join(text.split())
    for expected in (
        "Learner Ada Lovelace",
        "School North High",
        "District North Valley USD",
        "Issued 30 November 2026",
        "Portrait of a Graduate (version 2026.1)",
        # the chart: level names, each competency with its level in words
        "Beginning Developing Proficient Advanced",
        "Communicates clearly Proficient, 3 of 4",
        "Leads with empathy Not yet assessed",
        # badges with dates
        "Communicates clearly badge (Proficient) 2 Mar 2026",
        # courses by term with grades and credits
        "Fall 2025 2.0 credits earned",
        "MATH-201 Algebra II A- 1.0",
        "WL-301 Spanish III A 0.5",
        "MATH-301 Calculus (in progress) IP",
        "Total credits earned: 3.5",
        f"{PUBLIC_URL}/transcripts/{TRANSCRIPT_ID}",
        "Scan to verify",
        ATTACHMENT_NAME,
        "Page 1 of 1",
    ):
        assert expected in flat, expected
    assert flat.index("Communicator") < flat.index("Badges earned") < flat.index("Courses by term")
    # The page is drawn: the QR code fills the top right corner, the body has ink, the page is no blank.
    assert _dark_share(bitmap, 0.78, 0.03, 0.95, 0.16) > 0.25
    assert 0.01 < _dark_share(bitmap, 0.0, 0.0, 1.0, 1.0) < 0.5


def test_pdf_a3_with_the_signed_credential_as_associated_file(clr: dict[str, Any]) -> None:
    pdf = _pdf(clr)
    reader = PdfReader(io.BytesIO(pdf))
    catalog: Any = reader.trailer["/Root"]
    metadata = catalog["/Metadata"].get_object().get_data().decode()
    assert (
        "<pdfaid:part>3</pdfaid:part>" in metadata
        and "<pdfaid:conformance>B</pdfaid:conformance>" in metadata
    )
    spec = catalog["/AF"][0].get_object()
    assert spec["/AFRelationship"] == "/Source"
    assert spec["/F"] == ATTACHMENT_NAME
    assert [f.name for f in embedded_files(pdf)] == [ATTACHMENT_NAME]
    text = extract_pdf(pdf)
    assert text is not None
    assert json.loads(text) == clr  # byte for byte the signed document (compact JSON)
    result = verify_credential(text, resolve_key=resolve_did_key_method, now=NOW)
    assert result.verified, result.to_json()


def test_test_vector_travels_in_a_pdf_and_still_verifies() -> None:
    vector = load_vector()
    pdf = render_transcript_pdf(build_transcript_view(vector), vector, paper="a4")
    text, _size, _bitmap = _first_page(pdf)
    assert "Example University Degree" in text and "1 Jan 2010" in text
    assert "No course records in this record." in text
    extracted = extract_pdf(pdf)
    assert extracted is not None
    result = verify_credential(extracted, resolve_key=fragment_key_resolver, now=NOW)
    assert result.verified, result.to_json()
    tampered = json.loads(extracted)
    tampered["name"] = "Forged Transcript"
    forged = render_transcript_pdf(build_transcript_view(tampered), tampered)
    again = extract_pdf(forged)
    assert again is not None
    assert not verify_credential(again, resolve_key=fragment_key_resolver, now=NOW).verified


def test_names_are_text_never_markup(clr: dict[str, Any]) -> None:
    hostile = '#read("/etc/passwd") *bold* $x$ ] <b> \\ @ref'
    text, _size, _bitmap = _first_page(_pdf(clr, learner_name=hostile, school_name="#panic()"))
    flat = " ".join(text.split())
    assert f"Learner {hostile}" in flat
    assert "School #panic()" in flat


def test_same_credential_same_bytes_and_unknown_paper(clr: dict[str, Any]) -> None:
    assert _pdf(clr) == _pdf(clr)
    with pytest.raises(TranscriptPdfError, match="unknown paper size"):
        _pdf(clr, "legal")


def test_many_courses_flow_onto_more_pages(clr: dict[str, Any]) -> None:
    view = build_transcript_view(clr)
    terms = view.terms * 12
    longer = type(view)(**{**view.__dict__, "terms": terms})
    pdf = render_transcript_pdf(longer, clr)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    assert pages >= 2
    last = PdfReader(io.BytesIO(pdf)).pages[pages - 1].extract_text()
    assert f"Page {pages} of {pages}" in last
