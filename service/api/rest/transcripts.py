"""Extended transcripts (CLR 2.0) of the caller's district: generate, list, fetch, revoke."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Security
from fastapi.responses import JSONResponse
from fastapi.security import SecurityScopes

from service.api.deps import AuthenticatedDep, PageDep, SessionDep, SettingsDep, check_scopes
from service.api.rest.errors import GET_ERRORS, READ_ERRORS, WRITE_ERRORS
from service.jobs.schemas import JobRead
from service.schemas import Page
from service.tenancy.tokens import Principal
from service.transcripts.schemas import (
    TranscriptBatch,
    TranscriptCreate,
    TranscriptDetail,
    TranscriptRead,
    TranscriptRevoke,
    TranscriptStatus,
)
from service.transcripts.service import TranscriptService, transcript_detail, transcript_read

router = APIRouter(prefix="/api/v1", tags=["transcripts"])
VC_JSON = "application/vc+ld+json"


async def _scoped(security_scopes: SecurityScopes, principal: AuthenticatedDep) -> Principal:
    check_scopes(principal, security_scopes.scopes)
    return principal


TranscriptsRead = Annotated[Principal, Security(_scoped, scopes=["transcripts:read"])]
TranscriptsWrite = Annotated[Principal, Security(_scoped, scopes=["transcripts:write"])]


@router.post(
    "/learners/{learner_id}/transcripts",
    status_code=201,
    summary="Generate a learner's extended transcript: the signed ClrCredential (CLR 2.0)",
    responses={**WRITE_ERRORS, 201: {"content": {VC_JSON: {}, "application/json": {}}}},
    response_class=JSONResponse,
)
async def generate_transcript(
    learner_id: uuid.UUID,
    principal: TranscriptsWrite,
    session: SessionDep,
    settings: SettingsDep,
    body: TranscriptCreate | None = None,
) -> JSONResponse:
    """The body of the answer is the signed ClrCredential (eddsa-rdfc-2022) itself; its ``id`` is the
    transcript's public URL ``…/transcripts/{uuid}`` and the ``Location`` header names it too."""
    generated = await TranscriptService(session, principal.tenant_id, settings).generate(
        learner_id, body or TranscriptCreate(), issued_by=principal.client_id
    )
    detail = transcript_detail(generated.transcript, generated.credential, settings.public_url)
    return JSONResponse(
        detail.credential,
        status_code=201,
        media_type=VC_JSON,
        headers={"Location": detail.id, "Portrait-Transcript-Id": str(detail.uuid)},
    )


@router.post(
    "/transcripts/batch",
    status_code=202,
    summary="Generate the transcripts of a cohort as a job (a school's grade, a class, or learners)",
    responses=WRITE_ERRORS,
)
async def generate_batch(
    body: TranscriptBatch, principal: TranscriptsWrite, session: SessionDep, settings: SettingsDep
) -> JobRead:
    """At most 5,000 learners per job; a larger selection is refused (422 naming ``body.limit``):
    page through it with ``offset`` and ``limit``. Follow the job at ``GET /api/v1/jobs/{id}``."""
    job = await TranscriptService(session, principal.tenant_id, settings).enqueue_batch(body)
    return JobRead.model_validate(job)


@router.get(
    "/transcripts",
    summary="List the district's transcripts",
    description=(
        "A page of the district's CLR transcripts, filterable by learner, generating job and status "
        "(`active`, `revoked`)."
    ),
    responses=READ_ERRORS,
)
async def list_transcripts(
    principal: TranscriptsRead,
    session: SessionDep,
    settings: SettingsDep,
    page: PageDep,
    learner_id: Annotated[uuid.UUID | None, Query()] = None,
    job_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[TranscriptStatus | None, Query()] = None,
) -> Page[TranscriptRead]:
    items, total = await TranscriptService(session, principal.tenant_id, settings).list_transcripts(
        page, learner_id=learner_id, job_id=job_id, status=status
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/transcripts/{transcript_id}",
    summary="Get a transcript with its credential",
    description=(
        "The transcript's record (partial reasons, counts, options, status list entry) with the "
        "signed ClrCredential and its VC-JWT."
    ),
    responses=GET_ERRORS,
)
async def get_transcript(
    transcript_id: uuid.UUID, principal: TranscriptsRead, session: SessionDep, settings: SettingsDep
) -> TranscriptDetail:
    transcript, row = await TranscriptService(session, principal.tenant_id, settings).get(transcript_id)
    return transcript_detail(transcript, row, settings.public_url)


@router.post(
    "/transcripts/{transcript_id}/revoke",
    summary="Revoke a transcript (sets its status list bit)",
    description=(
        "Sets the transcript's status list bit and re-signs the list, so verifiers see the revocation"
        " at once; 409 when already revoked."
    ),
    responses=WRITE_ERRORS,
)
async def revoke_transcript(
    transcript_id: uuid.UUID,
    body: TranscriptRevoke,
    principal: TranscriptsWrite,
    session: SessionDep,
    settings: SettingsDep,
) -> TranscriptRead:
    transcript, row = await TranscriptService(session, principal.tenant_id, settings).revoke(
        transcript_id, body.reason, revoked_by=principal.client_id
    )
    return transcript_read(transcript, row, settings.public_url)
