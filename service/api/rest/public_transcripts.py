"""Public transcript routes (no token): the signed ClrCredential at its id, content-negotiated.

``GET /transcripts/{uuid}`` answers the signed JSON (``application/vc+ld+json``, the default, also for
``*/*``), the compact JWS (``text/plain``, ``application/jwt``, ``application/vc+jwt``) or, for a browser
(``text/html``), the transcript page; ``.json``, ``.jwt`` and ``.pdf`` name the formats by URL (the PDF
carries the signed credential inside it). The
URL itself is the secret (an unguessable UUID), and a revocation shows in the status list at once.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse

from service.api.deps import SessionDep, SettingsDep
from service.api.rest.errors import problems
from service.api.rest.public_badges import VC_JSON, negotiate
from service.api.web.transcript_page import transcript_page
from service.transcripts.reading import TranscriptReadingService
from service.transcripts.service import PublicTranscript, PublicTranscriptService

router = APIRouter(tags=["public"])
PUBLIC_ERRORS = problems(404, 422)


def _headers() -> dict[str, str]:
    return {"Cache-Control": "no-cache", "Vary": "Accept"}


async def _found(transcript_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> PublicTranscript:
    return await PublicTranscriptService(session, settings).get(transcript_id)


@router.get(
    "/transcripts/{transcript_id}.jwt",
    summary="A transcript as a compact JWS (VC-JWT, RS256)",
    description=("The transcript's VC-JWT form (RS256). No token: the unguessable URL is the secret."),
    responses={**PUBLIC_ERRORS, 200: {"content": {"text/plain": {}}}},
    response_class=PlainTextResponse,
)
async def transcript_jwt(transcript_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> Response:
    found = await _found(transcript_id, session, settings)
    return PlainTextResponse(found.credential.jwt or "", headers=_headers())


PAPER_SIZES: dict[str, Literal["us-letter", "a4"]] = {"letter": "us-letter", "a4": "a4"}


@router.get(
    "/transcripts/{transcript_id}.pdf",
    summary="A transcript as a PDF (PDF/A-3) carrying the signed ClrCredential as an embedded file",
    description="The first page shows the learner, school, district and dates, the Portrait chart, the "
    "badges with their dates, the courses by term with grades and credits, and a QR code with the link "
    "to this transcript. The signed credential is embedded (`clr-credential.json`, AFRelationship "
    "Source): `POST /api/v1/verify` accepts the PDF and verifies it.",
    responses={**PUBLIC_ERRORS, 200: {"content": {"application/pdf": {}}}},
    response_class=Response,
)
async def transcript_pdf(
    transcript_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    paper: Annotated[Literal["letter", "a4"], Query(description="paper size")] = "letter",
) -> Response:
    pdf = await TranscriptReadingService(session, settings).pdf(transcript_id, PAPER_SIZES[paper])
    disposition = f'inline; filename="transcript-{transcript_id}.pdf"'
    return Response(
        pdf,
        media_type="application/pdf",
        headers={**_headers(), "Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )


@router.get(
    "/transcripts/{transcript_id}.json",
    summary="A transcript as signed JSON (eddsa-rdfc-2022)",
    description=("The ClrCredential byte for byte as signed. No token."),
    responses={**PUBLIC_ERRORS, 200: {"content": {VC_JSON: {}}}},
)
async def transcript_json(transcript_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> Response:
    found = await _found(transcript_id, session, settings)
    return Response(found.credential.document, media_type=VC_JSON, headers=_headers())


@router.get(
    "/transcripts/{transcript_id}",
    summary="A transcript (ClrCredential): signed JSON (default), compact JWS or the page (text/html)",
    description=(
        "Content-negotiated like a credential: the signed JSON (default), the compact JWS, or the "
        "transcript page for browsers. No token."
    ),
    responses={
        **PUBLIC_ERRORS,
        200: {"content": {VC_JSON: {}, "application/json": {}, "text/plain": {}, "text/html": {}}},
    },
    response_class=Response,
)
async def transcript(
    transcript_id: uuid.UUID, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    accept = request.headers.get("accept") or ""
    if negotiate(accept) == "html":
        reading = await TranscriptReadingService(session, settings).read(transcript_id)
        return transcript_page(request, reading, settings.public_url)
    found = await _found(transcript_id, session, settings)
    if negotiate(accept) == "jwt":
        return PlainTextResponse(found.credential.jwt or "", headers=_headers())
    media = "application/json" if "application/json" in accept and VC_JSON not in accept else VC_JSON
    return Response(found.credential.document, media_type=media, headers=_headers())
