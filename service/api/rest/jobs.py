"""Jobs: state, progress and report of long work (syncs, batch issuance, webhook deliveries).

A job belongs to a scope area: ``<area>:read`` sees it, ``<area>:write`` cancels it.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from service.api.deps import AuthenticatedDep, PageDep, SessionDep, check_scopes
from service.api.rest import examples
from service.api.rest.errors import GET_ERRORS, READ_ERRORS, problems
from service.jobs.schemas import JobRead, JobState
from service.jobs.service import JobService
from service.schemas import Page
from service.tenancy import scopes as scope_names
from service.tenancy.tokens import Principal

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])

Area = Annotated[str, Query(min_length=1, max_length=32, pattern=r"^[a-z]+$", description="scope area")]


def _readable_areas(principal: Principal) -> list[str]:
    return [a for a in scope_names.AREAS if principal.has(f"{a}:read")]


@router.get("", summary="List jobs of the areas the token can read", responses=READ_ERRORS)
async def list_jobs(
    principal: AuthenticatedDep,
    session: SessionDep,
    page: PageDep,
    kind: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    state: Annotated[JobState | None, Query()] = None,
    area: Area | None = None,
) -> Page[JobRead]:
    """Newest first. Jobs of areas the token holds no ``<area>:read`` (or ``:write``) for are left out."""
    rows, total = await JobService(session, principal.tenant_id).list(
        page, areas=_readable_areas(principal), kind=kind, state=state, area=area
    )
    return Page(
        items=[JobRead.model_validate(j) for j in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get(
    "/{job_id}",
    summary="Get a job: state, progress and report",
    openapi_extra=examples.JOB_DONE,
    description=(
        "A job's state (`queued`, `running`, `succeeded`, `failed`, `cancelled`), progress and final "
        "report; needs the read scope of the job's area (a sync needs `sync:read`)."
    ),
    responses=GET_ERRORS,
)
async def get_job(job_id: uuid.UUID, principal: AuthenticatedDep, session: SessionDep) -> JobRead:
    job = await JobService(session, principal.tenant_id).get(job_id)
    check_scopes(principal, [f"{job.area}:read"])
    return JobRead.model_validate(job)


@router.post(
    "/{job_id}/cancel",
    status_code=202,
    summary="Cancel a job",
    responses=problems(400, 401, 403, 404, 409, 422),
)
async def cancel_job(job_id: uuid.UUID, principal: AuthenticatedDep, session: SessionDep) -> JobRead:
    """A queued job is cancelled at once; a running one is asked to stop and ends ``cancelled`` at its
    next check. 409 when the job has already finished."""
    service = JobService(session, principal.tenant_id)
    job = await service.get(job_id)
    check_scopes(principal, [f"{job.area}:write"])
    return JobRead.model_validate(await service.cancel(job_id))
