"""Job use cases: enqueue in the caller's transaction, read, list, cancel. Services flush, never commit.

``enqueue`` writes the job row in the caller's transaction and hands the job to the backend only after
that transaction commits (``service.db.after_commit``): a rolled-back request never runs a job, and a
job that is committed but never handed over (the process died in between) is found again by the
backend's resume and sweep passes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlmodel.ext.asyncio.session import AsyncSession

from service.db import (
    Database,
    after_commit,
    declare_write_intent,
    discard_after_commit,
    run_after_commit,
    utcnow,
)
from service.jobs import registry
from service.jobs.errors import JobFinished, JobNotFound
from service.jobs.models import FINISHED, Job
from service.jobs.repository import JobRepository
from service.schemas import PageParams
from service.tenancy import scopes as scope_names

logger = logging.getLogger(__name__)


def bound_engine(session: AsyncSession) -> Engine:
    bind = session.sync_session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


async def dispatch(engine: Engine, job_id: uuid.UUID) -> None:
    """Hand a committed job to the backend running for ``engine``'s database, if any."""
    from service.jobs.backends import backend_for

    backend = backend_for(engine)
    if backend is None:
        # Not lost: the job stays queued and a backend's resume/sweep pass picks it up.
        logger.info("job %s queued with no backend running in this process", job_id)
        return
    await backend.submit(job_id)


@asynccontextmanager
async def transaction(db: Database) -> AsyncIterator[AsyncSession]:
    """The request contract outside requests: commit on success and then run the after-commit
    effects (job hand-off, webhooks); roll back and drop them on error."""
    async with db.session() as session:
        await declare_write_intent(session)
        try:
            yield session
        except BaseException:
            discard_after_commit(session)
            await session.rollback()
            raise
        await session.commit()
        await run_after_commit(session)


class JobService:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.repo = JobRepository(session, tenant_id)

    async def enqueue(self, kind: str, area: str, params: dict[str, Any] | None = None) -> Job:
        """Queue a job of a registered ``kind``; it starts after the caller's transaction commits."""
        registry.get_handler(kind)  # an unknown kind is a programming error: fail in the request
        if area not in scope_names.AREAS:
            raise ValueError(f"unknown job area {area!r}: expected one of {', '.join(scope_names.AREAS)}")
        job = Job(tenant_id=self.tenant_id, kind=kind, area=area, params=dict(params or {}))
        await self.repo.add(job)
        engine, job_id = bound_engine(self.session), job.id

        async def hand_over() -> None:
            await dispatch(engine, job_id)

        after_commit(self.session, hand_over)
        return job

    async def get(self, job_id: uuid.UUID) -> Job:
        job = await self.repo.get(job_id)
        if job is None:
            raise JobNotFound(f"job {job_id} not found")
        return job

    async def list(
        self,
        page: PageParams,
        *,
        areas: Sequence[str],
        kind: str | None = None,
        state: str | None = None,
        area: str | None = None,
    ) -> tuple[Sequence[Job], int]:
        return await self.repo.list(page, areas=areas, kind=kind, state=state, area=area)

    async def cancel(self, job_id: uuid.UUID) -> Job:
        """A queued job is cancelled at once; a running one is asked to stop (its handler checks)."""
        job = await self.get(job_id)
        if job.state in FINISHED:
            raise JobFinished(f"job {job_id} already {job.state}")
        # Conditional updates: a runner may claim the job concurrently; it sees cancel_requested.
        await self.repo.request_cancel(job_id, now=utcnow())
        await self.session.refresh(job)
        return job
