"""Every query of the jobs domain.

:class:`JobRepository` serves requests and is scoped by tenant. :class:`JobRunRepository` serves the
backends, which work across tenants by job id; each of its writes is a single conditional UPDATE so
that it takes the write lock first (SQLite) and never races another runner (compare-and-set).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, text, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.db import fetch_page
from service.jobs.models import CANCELLED, FINISHED, QUEUED, RUNNING, Job
from service.schemas import PageParams


class JobRepository:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def add(self, job: Job) -> None:
        self.session.add(job)
        await self.session.flush()

    async def get(self, job_id: uuid.UUID) -> Job | None:
        query = select(Job).where(col(Job.tenant_id) == self.tenant_id, col(Job.id) == job_id)
        return (await self.session.exec(query)).first()

    async def list(
        self,
        page: PageParams,
        *,
        areas: Sequence[str],
        kind: str | None = None,
        state: str | None = None,
        area: str | None = None,
    ) -> tuple[Sequence[Job], int]:
        query = select(Job).where(col(Job.tenant_id) == self.tenant_id, col(Job.area).in_(list(areas)))
        if kind is not None:
            query = query.where(col(Job.kind) == kind)
        if state is not None:
            query = query.where(col(Job.state) == state)
        if area is not None:
            query = query.where(col(Job.area) == area)
        return await fetch_page(self.session, query, page, col(Job.created_at).desc(), col(Job.id))

    async def request_cancel(self, job_id: uuid.UUID, *, now: datetime) -> None:
        """Flag an unfinished job; a still-queued one is cancelled outright."""
        mine = (col(Job.id) == job_id, col(Job.tenant_id) == self.tenant_id)
        await self.session.execute(
            update(Job)
            .where(*mine, col(Job.state).not_in(FINISHED))
            .values(cancel_requested=True)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(Job)
            .where(*mine, col(Job.state) == QUEUED)
            .values(state=CANCELLED, finished_at=now)
            .execution_options(synchronize_session=False)
        )


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class JobRunRepository:
    """Queries of the runner and the backends (all tenants)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, job_id: uuid.UUID) -> Job | None:
        return (await self.session.exec(select(Job).where(col(Job.id) == job_id))).first()

    async def claim(self, job_id: uuid.UUID, *, now: datetime, stale_before: datetime) -> bool:
        """queued (or running with a stale heartbeat: its runner died) -> running, once."""
        result = await self.session.execute(
            update(Job)
            .where(
                col(Job.id) == job_id,
                or_(
                    col(Job.state) == QUEUED,
                    and_(
                        col(Job.state) == RUNNING,
                        or_(col(Job.heartbeat_at).is_(None), col(Job.heartbeat_at) < stale_before),
                    ),
                ),
            )
            .values(
                state=RUNNING,
                attempts=col(Job.attempts) + 1,
                started_at=func.coalesce(col(Job.started_at), now),
                heartbeat_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    async def heartbeat(self, job_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            update(Job)
            .where(col(Job.id) == job_id, col(Job.state) == RUNNING)
            .values(heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )

    async def set_progress(self, job_id: uuid.UUID, progress: dict[str, Any], now: datetime) -> None:
        await self.session.execute(
            update(Job)
            .where(col(Job.id) == job_id, col(Job.state) == RUNNING)
            .values(progress=progress, heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )

    async def cancel_requested(self, job_id: uuid.UUID) -> bool:
        value = await self.session.scalar(select(Job.cancel_requested).where(col(Job.id) == job_id))
        return bool(value)

    async def finish(
        self,
        job_id: uuid.UUID,
        *,
        state: str,
        now: datetime,
        report: dict[str, Any] | None = None,
        error: str | None = None,
        from_states: Sequence[str] = (RUNNING,),
    ) -> bool:
        values: dict[str, Any] = {"state": state, "finished_at": now, "error": error}
        if report is not None:
            values["report"] = report
        result = await self.session.execute(
            update(Job)
            .where(col(Job.id) == job_id, col(Job.state).in_(list(from_states)))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    async def requeue(self, job_id: uuid.UUID) -> None:
        """running -> queued: the runner was stopped (shutdown), the job resumes at the next start."""
        await self.session.execute(
            update(Job)
            .where(col(Job.id) == job_id, col(Job.state) == RUNNING)
            .values(state=QUEUED, heartbeat_at=None)
            .execution_options(synchronize_session=False)
        )

    async def runnable_ids(self, *, stale_before: datetime, limit: int) -> list[uuid.UUID]:
        """Queued jobs, and running jobs whose runner stopped sending heartbeats (a crash)."""
        return [job_id for job_id, _state in await self.runnable(stale_before=stale_before, limit=limit)]

    async def runnable(self, *, stale_before: datetime, limit: int) -> list[tuple[uuid.UUID, str]]:
        """``runnable_ids`` with each job's state: ``queued`` (never started, or put back by a clean
        stop) or ``running`` (its runner stopped sending heartbeats: a crash)."""
        query = (
            select(Job.id, Job.state)
            .where(
                or_(
                    col(Job.state) == QUEUED,
                    and_(
                        col(Job.state) == RUNNING,
                        or_(col(Job.heartbeat_at).is_(None), col(Job.heartbeat_at) < stale_before),
                    ),
                )
            )
            .order_by(col(Job.created_at))
            .limit(limit)
        )
        return [(job_id, state) for job_id, state in (await self.session.exec(query)).all()]

    async def without_queue_job(
        self, *, queue: str, task: str, created_before: datetime, stale_before: datetime, limit: int
    ) -> list[uuid.UUID]:
        """PostgreSQL + procrastinate: our unfinished jobs that no procrastinate job will run (the
        process died between our commit and its defer, or a worker died and was pruned)."""
        rows = await self.session.execute(
            text(
                """
                SELECT j.id FROM jobs j
                 WHERE (j.state = :queued
                        OR (j.state = :running AND (j.heartbeat_at IS NULL OR j.heartbeat_at < :stale)))
                   AND j.created_at < :created_before
                   AND NOT EXISTS (
                       SELECT 1 FROM procrastinate_jobs p
                        WHERE p.queue_name = :queue AND p.task_name = :task
                          AND p.args ->> 'job_id' = CAST(j.id AS text)
                          AND (p.status = 'todo' OR (p.status = 'doing' AND p.worker_id IS NOT NULL)))
                 ORDER BY j.created_at
                 LIMIT :limit
                """
            ),
            {
                "queued": QUEUED,
                "running": RUNNING,
                "stale": stale_before,
                "created_before": created_before,
                "queue": queue,
                "task": task,
                "limit": limit,
            },
        )
        return [uuid.UUID(str(row[0])) for row in rows.all()]
