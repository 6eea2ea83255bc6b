"""POST /api/v1/verify and the /verify page with a transcript PDF: the credential inside is verified.

The transcript is signed by an issuer of another organisation (did:web on the local document server),
so the whole path runs for real: PDF parsing, key resolution over HTTP, the verifier.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from service.transcripts.pdf import render_transcript_pdf
from service.transcripts.view import build_transcript_view
from tests.credentials.test_pdf import _pdf as pdf_with_files
from tests.credentials.test_pdf import _stream
from tests.transcripts.clr_sample import build_clr
from tests.verification.conftest import RemoteIssuer


def transcript_pdf(credential: dict[str, Any], paper: Any = "us-letter") -> bytes:
    view = build_transcript_view(credential, learner_name="Ada Lovelace", school_name="North High")
    return render_transcript_pdf(view, credential, paper=paper)


@pytest.fixture
def clr(remote_issuer: RemoteIssuer) -> dict[str, Any]:
    return build_clr(remote_issuer.signer, status_url=remote_issuer.list_url)


def checks(body: dict[str, Any]) -> dict[str, bool]:
    return {item["check"]: item["ok"] for item in body["checks"]}


async def test_pdf_body_verifies(vhttp: httpx.AsyncClient, clr: dict[str, Any]) -> None:
    response = await vhttp.post(
        "/api/v1/verify", content=transcript_pdf(clr), headers={"content-type": "application/pdf"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is True, body
    assert body["source"] == "pdf"
    assert body["proof_format"] == "data-integrity"
    assert body["credential"] == clr
    assert "ClrCredential" in body["credential"]["type"]


@pytest.mark.parametrize("media", ["application/pdf", "application/octet-stream"])
async def test_multipart_pdf_upload(vhttp: httpx.AsyncClient, clr: dict[str, Any], media: str) -> None:
    files = {"file": ("transcript.pdf", transcript_pdf(clr, "a4"), media)}
    response = await vhttp.post("/api/v1/verify", files=files)
    assert response.status_code == 200, response.text
    assert response.json()["verified"] is True
    assert response.json()["source"] == "pdf"


async def test_tampered_transcript_in_a_pdf_fails_proof(
    vhttp: httpx.AsyncClient, clr: dict[str, Any]
) -> None:
    forged = copy.deepcopy(clr)
    course = forged["credentialSubject"]["verifiableCredential"][-2]["credentialSubject"]
    course["result"][0]["value"] = "A+"  # a better grade, in the outer signed document
    response = await vhttp.post(
        "/api/v1/verify", content=transcript_pdf(forged), headers={"content-type": "application/pdf"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["verified"] is False
    assert checks(body)["proof"] is False


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"%PDF-1.7 nothing here", 400, "unreadable_credential"),
        (b"GIF89a", 400, "unreadable_credential"),
        (pdf_with_files(), 422, "no_credential"),
        (pdf_with_files(("photo.png", _stream(b"\x89PNG"), True)), 422, "no_credential"),
        (pdf_with_files(("clr-credential.json", _stream(b"{not json"), True)), 400, "unreadable_credential"),
    ],
    ids=["garbage", "not-a-pdf", "no-attachment", "no-credential-file", "attachment-not-json"],
)
async def test_bad_pdfs_are_clear_4xx(
    vhttp: httpx.AsyncClient, content: bytes, status: int, code: str
) -> None:
    response = await vhttp.post(
        "/api/v1/verify", content=content, headers={"content-type": "application/pdf"}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code
    assert problem["errors"][0]["loc"] == "body"


async def test_web_page_verifies_an_uploaded_pdf(vhttp: httpx.AsyncClient, clr: dict[str, Any]) -> None:
    page = await vhttp.get("/verify")
    assert "application/pdf" in page.text and "a PDF" in page.text  # the upload accepts PDFs
    files = {"file": ("transcript.pdf", transcript_pdf(clr), "application/pdf")}
    response = await vhttp.post("/verify", files=files)
    assert response.status_code == 200, response.text
    assert 'data-state="valid"' in response.text
    assert "Read from: pdf" in response.text
    assert "Extended transcript" in response.text
