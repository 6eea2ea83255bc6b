"""Jobs over GraphQL: state, progress and report of long work (syncs, batch issuance, transcripts),
through the same JobService and the same per-area scopes as REST ``/api/v1/jobs``."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Self, cast
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from service.api.deps import check_scopes
from service.api.graphql.common import Page, check_text, enum_value, field, mutation, paged
from service.api.graphql.context import Info
from service.jobs.schemas import JobRead
from service.jobs.service import JobService
from service.tenancy import scopes as scope_names


def _json(value: Any) -> JSON:
    return cast(JSON, value)


@strawberry.enum(description="Where a job is in its life.")
class JobState(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@strawberry.type(
    description=(
        "Long work with persisted state: a OneRoster sync, a batch issuance, cohort transcripts. "
        "`<area>:read` sees it, `<area>:write` cancels it."
    )
)
class Job:
    id: UUID
    kind: str = strawberry.field(description="what the job does, e.g. oneroster.sync or badges.issue_batch")
    area: str = strawberry.field(description="the scope area the job belongs to")
    state: JobState
    params: JSON = strawberry.field(description="what the job was asked to do")
    progress: JSON = strawberry.field(description="the handler's latest progress figures")
    report: JSON | None = strawberry.field(description="the final report, once succeeded")
    error: str | None = strawberry.field(description="why it failed")
    attempts: int = strawberry.field(description="starts, resumptions after a crash included")
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None

    @classmethod
    def from_read(cls, read: JobRead) -> Self:
        return cls(
            id=read.id,
            kind=read.kind,
            area=read.area,
            state=JobState(read.state),
            params=_json(read.params),
            progress=_json(read.progress),
            report=None if read.report is None else _json(read.report),
            error=read.error,
            attempts=read.attempts,
            cancel_requested=read.cancel_requested,
            created_at=read.created_at,
            started_at=read.started_at,
            finished_at=read.finished_at,
            heartbeat_at=read.heartbeat_at,
        )


@strawberry.type
class JobsQuery:
    @field(description="Jobs of the areas the token can read, newest first (as REST GET /api/v1/jobs).")
    async def jobs(
        self,
        info: Info,
        kind: str | None = None,
        state: JobState | None = None,
        area: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Job]:
        principal = info.context.require()
        check_text(kind, "kind", max_length=100)
        check_text(area, "area", max_length=32)
        readable = [a for a in scope_names.AREAS if principal.has(f"{a}:read")]
        return await paged(
            info,
            limit,
            offset,
            lambda page: JobService(info.context.session, principal.tenant_id).list(
                page, areas=readable, kind=kind, state=enum_value(state), area=area
            ),
            lambda row: Job.from_read(JobRead.model_validate(row)),
        )

    @field(description="One job by id; needs the read scope of its area. NOT_FOUND otherwise.")
    async def job(self, info: Info, id: UUID) -> Job:
        principal = info.context.require()
        async with info.context.db_lock:
            row = await JobService(info.context.session, principal.tenant_id).get(id)
        check_scopes(principal, [f"{row.area}:read"])
        return Job.from_read(JobRead.model_validate(row))


@strawberry.type
class JobsMutation:
    @mutation(
        description=(
            "Cancel a job (the write scope of its area): a queued job at once, a running one at its "
            "next check. CONFLICT when it has already finished."
        )
    )
    async def cancel_job(self, info: Info, id: UUID) -> Job:
        principal = info.context.require()
        service = JobService(info.context.session, principal.tenant_id)
        async with info.context.db_lock:
            row = await service.get(id)
            check_scopes(principal, [f"{row.area}:write"])
            row = await service.cancel(id)
        return Job.from_read(JobRead.model_validate(row))
