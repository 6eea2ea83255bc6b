"""Credentials inside PDFs: an attached credential file, or a link annotation to the credential."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.verification import pdf
from tests.factories import Actors
from tests.web.helpers import issue_one
from tests.web.pdfs import pdf_bomb, pdf_with_attachment, pdf_with_link


def test_find_credential_in_pdfs() -> None:
    document = json.dumps({"@context": ["x"], "credentialSubject": {"id": "urn:x"}})
    found = pdf.find_credential(pdf_with_attachment(document))
    assert found == pdf.PdfFinding("credential", document)
    linked = pdf.find_credential(pdf_with_link("https://school.example/credentials/abc"))
    assert linked == pdf.PdfFinding("url", "https://school.example/credentials/abc")
    assert pdf.find_credential(pdf_bomb()) is None  # inflated with a bound: nothing found, no blow-up
    with pytest.raises(pdf.PdfError):
        pdf.find_credential(b"GIF89a not a pdf")


async def test_verify_api_reads_pdfs(
    http: httpx.AsyncClient, actors: Actors, session: AsyncSession, settings: Settings
) -> None:
    issued = await issue_one(session, actors.a.tenant.id, settings)
    for body in (
        pdf_with_attachment(issued.document),
        pdf_with_attachment(issued.jwt),
        pdf_with_link(issued.url),
    ):
        response = await http.post(
            "/api/v1/verify", content=body, headers={"Content-Type": "application/pdf"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["verified"] is True and response.json()["source"] == "pdf"
        page = await http.post("/verify", files={"file": ("badge.pdf", body, "application/pdf")})
        assert page.status_code == 200 and 'data-state="valid"' in page.text
    empty = await http.post("/api/v1/verify", content=pdf_bomb(), headers={"Content-Type": "application/pdf"})
    assert empty.status_code == 422 and empty.json()["errors"][0]["loc"] == "body"
