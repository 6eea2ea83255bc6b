"""Public transcript routes (no token): the signed ClrCredential at its id, content-negotiated.

``GET /transcripts/{uuid}`` answers the signed JSON (``application/vc+ld+json``, the default, also for
``*/*`` and, until the transcript page exists, ``text/html``) or the compact JWS (``text/plain``,
``application/jwt``, ``application/vc+jwt``); ``.json`` and ``.jwt`` name the two formats by URL. The
URL itself is the secret (an unguessable UUID), and a revocation shows in the status list at once.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from service.api.deps import SessionDep, SettingsDep
from service.api.rest.errors import problems
from service.api.rest.public_badges import VC_JSON, negotiate
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
    responses={**PUBLIC_ERRORS, 200: {"content": {"text/plain": {}}}},
    response_class=PlainTextResponse,
)
async def transcript_jwt(transcript_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> Response:
    found = await _found(transcript_id, session, settings)
    return PlainTextResponse(found.credential.jwt or "", headers=_headers())


@router.get(
    "/transcripts/{transcript_id}.json",
    summary="A transcript as signed JSON (eddsa-rdfc-2022)",
    responses={**PUBLIC_ERRORS, 200: {"content": {VC_JSON: {}}}},
)
async def transcript_json(transcript_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> Response:
    found = await _found(transcript_id, session, settings)
    return Response(found.credential.document, media_type=VC_JSON, headers=_headers())


@router.get(
    "/transcripts/{transcript_id}",
    summary="A transcript (ClrCredential): signed JSON (default) or compact JWS (text/plain)",
    responses={**PUBLIC_ERRORS, 200: {"content": {VC_JSON: {}, "application/json": {}, "text/plain": {}}}},
    response_class=Response,
)
async def transcript(
    transcript_id: uuid.UUID, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    found = await _found(transcript_id, session, settings)
    accept = request.headers.get("accept") or ""
    if negotiate(accept) == "jwt":
        return PlainTextResponse(found.credential.jwt or "", headers=_headers())
    media = "application/json" if "application/json" in accept and VC_JSON not in accept else VC_JSON
    return Response(found.credential.document, media_type=media, headers=_headers())
