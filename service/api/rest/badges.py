"""Credentials (Open Badges 3.0) of the caller's district, and its issuer keys."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, Security
from fastapi.security import SecurityScopes

from service.api.deps import (
    AfterQuery,
    AuthenticatedDep,
    PageDep,
    SessionDep,
    SettingsDep,
    check_cursor,
    check_scopes,
    read_only,
)
from service.api.rest import examples
from service.api.rest.errors import GET_ERRORS, READ_ERRORS, WRITE_ERRORS
from service.badges.issuance import CredentialService, credential_detail, credential_read
from service.badges.issuers import IssuerService
from service.badges.schemas import (
    CredentialBatch,
    CredentialDetail,
    CredentialIssue,
    CredentialRead,
    CredentialRevoke,
    CredentialStatus,
    IssuerKeyRead,
    KeyRotate,
)
from service.jobs.schemas import JobRead
from service.schemas import CursorPage, Page
from service.tenancy.tokens import Principal

router = APIRouter(prefix="/api/v1", tags=["credentials"])


async def _scoped(security_scopes: SecurityScopes, principal: AuthenticatedDep) -> Principal:
    check_scopes(principal, security_scopes.scopes)
    return principal


CredentialsRead = Annotated[Principal, Security(_scoped, scopes=["credentials:read"])]
CredentialsWrite = Annotated[Principal, Security(_scoped, scopes=["credentials:write"])]


@router.get(
    "/credentials",
    summary="List issued credentials",
    responses=READ_ERRORS,
    openapi_extra=examples.CREDENTIALS,
)
@read_only
async def list_credentials(
    principal: CredentialsRead,
    session: SessionDep,
    settings: SettingsDep,
    page: PageDep,
    learner_id: Annotated[uuid.UUID | None, Query()] = None,
    achievement_id: Annotated[uuid.UUID | None, Query()] = None,
    status: Annotated[CredentialStatus | None, Query()] = None,
    after: AfterQuery = None,
) -> CursorPage[CredentialRead]:
    """The district's Open Badges credentials, newest first. Each item's ``id`` is the credential's
    public URL (where partners verify it); ``uuid`` names it in this API's paths. Pages by ``offset``,
    or by cursor: ``after`` = the ``next`` of the page before."""
    check_cursor(after, page)
    service = CredentialService(session, principal.tenant_id, settings)
    items, total, next_cursor = await service.list_credentials(
        page, after=after, learner_id=learner_id, achievement_id=achievement_id, status=status
    )
    return CursorPage(items=items, total=total, limit=page.limit, offset=page.offset, next=next_cursor)


@router.post(
    "/credentials",
    status_code=201,
    summary="Issue an achievement to a learner (signed eddsa-rdfc-2022 and VC-JWT)",
    responses={**WRITE_ERRORS, 200: {"model": CredentialDetail, "description": "issued before (same key)"}},
)
async def issue_credential(
    body: CredentialIssue,
    principal: CredentialsWrite,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> CredentialDetail:
    """With an ``idempotency_key``, a retry returns the credential issued the first time (200)."""
    service = CredentialService(session, principal.tenant_id, settings)
    row, created = await service.issue_direct(body, issued_by=principal.client_id)
    if not created:
        response.status_code = 200
    await service.jwt(row)  # the detail carries the VC-JWT form: signed now (first request), stored
    return credential_detail(row, settings.public_url)


@router.post(
    "/credentials/batch",
    status_code=202,
    summary="Issue up to 10,000 credentials as a job",
    openapi_extra=examples.ISSUE_BATCH,
    responses=WRITE_ERRORS,
)
async def issue_batch(
    body: CredentialBatch, principal: CredentialsWrite, session: SessionDep, settings: SettingsDep
) -> JobRead:
    """Queues a job (202) issuing each item as ``POST /api/v1/credentials`` would; follow it at
    ``GET /api/v1/jobs/{id}``."""
    job = await CredentialService(session, principal.tenant_id, settings).enqueue_batch(body)
    return JobRead.model_validate(job)


@router.post(
    "/credentials/issue-waiting",
    status_code=202,
    summary="Issue, as a job, every awarded award still waiting for its credential",
    responses=WRITE_ERRORS,
)
async def issue_waiting(principal: CredentialsWrite, session: SessionDep, settings: SettingsDep) -> JobRead:
    """Queues a job (202) issuing the credential of every awarded award whose ``issuance_status`` is
    still waiting (normally issuance follows each award by itself)."""
    job = await CredentialService(session, principal.tenant_id, settings).enqueue_waiting()
    return JobRead.model_validate(job)


@router.get("/credentials/{credential_id}", summary="Get an issued credential", responses=GET_ERRORS)
async def get_credential(
    credential_id: uuid.UUID, principal: CredentialsRead, session: SessionDep, settings: SettingsDep
) -> CredentialDetail:
    """The stored credential with its signed document (eddsa-rdfc-2022) and its VC-JWT form (RS256,
    signed on the first request for it and stored)."""
    service = CredentialService(session, principal.tenant_id, settings)
    row = await service.get(credential_id)
    await service.jwt(row)
    return credential_detail(row, settings.public_url)


@router.post(
    "/credentials/{credential_id}/revoke",
    summary="Revoke a credential (sets its status list bit)",
    responses=WRITE_ERRORS,
)
async def revoke_credential(
    credential_id: uuid.UUID,
    body: CredentialRevoke,
    principal: CredentialsWrite,
    session: SessionDep,
    settings: SettingsDep,
) -> CredentialRead:
    """Sets the credential's bit in its Bitstring Status List and re-signs the list, so verifiers see the
    revocation at once; 409 when already revoked. The award it was issued for becomes revoked too
    (``award.updated``)."""
    row = await CredentialService(session, principal.tenant_id, settings).revoke(
        credential_id, body.reason, revoked_by=principal.client_id
    )
    return credential_read(row, settings.public_url)


@router.get("/issuer/keys", summary="The district issuer's keys (public halves)", responses=READ_ERRORS)
async def list_keys(
    principal: CredentialsRead, session: SessionDep, settings: SettingsDep, page: PageDep
) -> Page[IssuerKeyRead]:
    """Active and retired keys, oldest first, paged like every list."""
    items, total = await IssuerService(session, principal.tenant_id, settings).keys_page(page)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/issuer/keys/rotate",
    summary="Rotate the issuer's keys; old public keys stay in the DID document",
    responses=WRITE_ERRORS,
)
async def rotate_keys(
    principal: CredentialsWrite, session: SessionDep, settings: SettingsDep, body: KeyRotate | None = None
) -> list[IssuerKeyRead]:
    """New keys of the kinds asked for (default: all); the previous ones are retired but stay in the DID
    document, so everything they signed keeps verifying. Answers every key."""
    service = IssuerService(session, principal.tenant_id, settings)
    await service.rotate((body or KeyRotate()).kinds)
    return await service.keys()
