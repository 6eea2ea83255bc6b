"""OneRoster provider connections, their syncs (as jobs), and CSV bundle imports."""

from __future__ import annotations

import tempfile
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, Security
from fastapi.security import SecurityScopes

from service.adapters.oneroster.csv_import import import_bundle
from service.adapters.oneroster.errors import DeactivationGuard
from service.adapters.oneroster.schemas import (
    ConnectionCreate,
    ConnectionRead,
    ConnectionTestResult,
    ConnectionUpdate,
    GradeMapCreate,
    GradeMapRead,
    SyncRequest,
)
from service.adapters.oneroster.service import ConnectionService, GradeMapService
from service.adapters.oneroster.sync import GuardRefused
from service.api.deps import AuthenticatedDep, PageDep, SessionDep, SettingsDep, check_scopes
from service.api.rest import examples
from service.api.rest.errors import GET_ERRORS, READ_ERRORS, WRITE_ERRORS, problems
from service.errors import UnsupportedMediaTypeError
from service.jobs.schemas import JobRead
from service.schemas import Page
from service.tenancy.tokens import Principal

router = APIRouter(prefix="/api/v1/oneroster", tags=["oneroster"])


async def _scoped(security_scopes: SecurityScopes, principal: AuthenticatedDep) -> Principal:
    check_scopes(principal, security_scopes.scopes)
    return principal


SyncRead = Annotated[Principal, Security(_scoped, scopes=["sync:read"])]
SyncWrite = Annotated[Principal, Security(_scoped, scopes=["sync:write"])]


@router.post("/connections", status_code=201, summary="Connect a OneRoster provider", responses=WRITE_ERRORS)
async def create_connection(
    body: ConnectionCreate, principal: SyncWrite, session: SessionDep, settings: SettingsDep
) -> ConnectionRead:
    """The client secret is stored encrypted and never returned. ``base_url`` and ``token_url`` must be
    http(s) and must not resolve to private addresses (422 naming the field) unless configured."""
    connection = await ConnectionService(session, principal.tenant_id, settings).create(body)
    return ConnectionRead.model_validate(connection)


@router.get(
    "/connections",
    summary="List OneRoster connections",
    description=(
        "A page of the district's OneRoster provider connections, without their client secrets, with "
        "when and by which job they last synced."
    ),
    responses=READ_ERRORS,
)
async def list_connections(
    principal: SyncRead, session: SessionDep, settings: SettingsDep, page: PageDep
) -> Page[ConnectionRead]:
    rows, total = await ConnectionService(session, principal.tenant_id, settings).list(page)
    return Page(
        items=[ConnectionRead.model_validate(c) for c in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/connections/{connection_id}",
    summary="Get a OneRoster connection",
    description=("One connection (its secret never shown); 404 for another district's."),
    responses=GET_ERRORS,
)
async def get_connection(
    connection_id: uuid.UUID, principal: SyncRead, session: SessionDep, settings: SettingsDep
) -> ConnectionRead:
    service = ConnectionService(session, principal.tenant_id, settings)
    return ConnectionRead.model_validate(await service.get(connection_id))


@router.patch("/connections/{connection_id}", summary="Update a OneRoster connection", responses=WRITE_ERRORS)
async def update_connection(
    connection_id: uuid.UUID,
    body: ConnectionUpdate,
    principal: SyncWrite,
    session: SessionDep,
    settings: SettingsDep,
) -> ConnectionRead:
    """Changing ``base_url`` or ``version`` resets the delta high-water mark."""
    service = ConnectionService(session, principal.tenant_id, settings)
    return ConnectionRead.model_validate(await service.update(connection_id, body))


@router.delete(
    "/connections/{connection_id}",
    status_code=204,
    summary="Delete a OneRoster connection",
    responses=GET_ERRORS,
)
async def delete_connection(
    connection_id: uuid.UUID, principal: SyncWrite, session: SessionDep, settings: SettingsDep
) -> Response:
    """The roster it synced stays; only the connection and its record index go."""
    await ConnectionService(session, principal.tenant_id, settings).delete(connection_id)
    return Response(status_code=204)


@router.post("/connections/{connection_id}/test", summary="Test a OneRoster connection", responses=GET_ERRORS)
async def test_connection(
    connection_id: uuid.UUID, principal: SyncWrite, session: SessionDep, settings: SettingsDep
) -> ConnectionTestResult:
    """Fetches a token and one org. 200 either way: ``ok`` says whether it worked, ``error`` why not
    (with the provider's ``imsx_codeMajor`` when it sent one)."""
    return await ConnectionService(session, principal.tenant_id, settings).test(connection_id)


@router.post(
    "/connections/{connection_id}/sync",
    status_code=202,
    summary="Sync rosters and grades from the provider (a job)",
    openapi_extra=examples.SYNC,
    responses=WRITE_ERRORS,
)
async def sync_connection(
    connection_id: uuid.UUID,
    principal: SyncWrite,
    session: SessionDep,
    settings: SettingsDep,
    body: SyncRequest | None = None,
) -> JobRead:
    """``full`` reads everything and deactivates what the provider no longer sends; ``delta`` reads what
    changed since the last successful sync. Follow the job at ``GET /api/v1/jobs/{id}``. 409 while a
    sync of the same connection is queued or running."""
    service = ConnectionService(session, principal.tenant_id, settings)
    job = await service.enqueue_sync(connection_id, body or SyncRequest())
    return JobRead.model_validate(job)


@router.post("/grade-maps", status_code=201, summary="Map line items to a competency", responses=WRITE_ERRORS)
async def create_grade_map(body: GradeMapCreate, principal: SyncWrite, session: SessionDep) -> GradeMapRead:
    """From the next sync on, each new or changed result of the line item (or of any line item of the
    category) becomes evidence of the competency at the level its score reaches (cut scores in percent
    of the line item's range). Without a line item or category: the cut scores for line items whose
    ``learningObjectiveSet`` names competencies by CASE identifier. 409 when one exists already."""
    return GradeMapRead.model_validate(await GradeMapService(session, principal.tenant_id).create(body))


@router.get("/grade-maps", summary="List grade maps", responses=READ_ERRORS)
async def list_grade_maps(principal: SyncRead, session: SessionDep, page: PageDep) -> Page[GradeMapRead]:
    """Oldest first, paged like every list."""
    rows, total = await GradeMapService(session, principal.tenant_id).list_page(page)
    return Page(
        items=[GradeMapRead.model_validate(m) for m in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.delete("/grade-maps/{map_id}", status_code=204, summary="Delete a grade map", responses=GET_ERRORS)
async def delete_grade_map(map_id: uuid.UUID, principal: SyncWrite, session: SessionDep) -> Response:
    """Evidence already made stays; later results of the line item make none."""
    await GradeMapService(session, principal.tenant_id).delete(map_id)
    return Response(status_code=204)


@router.post(
    "/csv",
    summary="Import a OneRoster CSV bundle (zip with manifest.csv)",
    responses={**WRITE_ERRORS, **problems(415)},
    openapi_extra={
        "requestBody": {
            "required": True,
            # application/zip is accepted as well; the document names the generic binary type only,
            # which every client generator (and the fuzzer) can produce.
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def import_csv(
    request: Request,
    principal: SyncWrite,
    session: SessionDep,
    settings: SettingsDep,
    override: Annotated[
        bool, Query(description="allow deactivating more learners than the guard permits")
    ] = False,
) -> dict[str, Any]:
    """Send the zip as the request body (``Content-Type: application/zip``). OneRoster 1.1 and 1.2,
    bulk and delta files; rows with problems are skipped and listed with file, line and column, the
    rest is imported in one transaction. All or nothing otherwise: 422 when the bundle is unusable (not a
    zip, corrupt compressed data, no manifest, a listed file missing, a required column missing, a file
    that is not UTF-8 CSV, too large unpacked), naming file, line and column; 409 when a bulk file would
    deactivate more than the guard allows and ``override`` is not set. Nothing is written then."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in ("application/zip", "application/x-zip-compressed", "application/octet-stream"):
        raise UnsupportedMediaTypeError(
            f"send the bundle as application/zip, not {media or 'no content type'}"
        )
    # Spooled to a temporary file past 1 MiB: the bundle is read from there as a stream, never held
    # whole in memory (the body size itself is bounded by the body limit middleware).
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        try:
            return await import_bundle(session, principal.tenant_id, settings, spool, override=override)
        except GuardRefused as exc:
            raise DeactivationGuard(str(exc)) from exc
