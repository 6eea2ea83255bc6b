"""Shared by the jobs and webhooks tests: a committed scratch database, test job handlers, polling."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import text

from service.config import Settings
from service.db import Database
from service.jobs.models import Job
from service.jobs.registry import JobContext, register
from tests.factories import make_tenant

T = TypeVar("T")

#: (job id, attempt) of every run of the test handlers, in order.
RUNS: list[tuple[uuid.UUID, int]] = []


@register("tests.echo")
async def echo(ctx: JobContext) -> dict[str, Any]:
    RUNS.append((ctx.job_id, ctx.attempt))
    await ctx.progress({"step": 1, "of": 2})
    await ctx.progress({"step": 2, "of": 2})
    return {"echo": ctx.params, "attempt": ctx.attempt, "resumed_from": ctx.last_progress}


@register("tests.fail")
async def fail(ctx: JobContext) -> dict[str, Any]:
    RUNS.append((ctx.job_id, ctx.attempt))
    raise RuntimeError("the handler broke on purpose")


@register("tests.until_cancelled")
async def until_cancelled(ctx: JobContext) -> dict[str, Any]:
    RUNS.append((ctx.job_id, ctx.attempt))
    await ctx.progress({"waiting": True})
    while True:
        await ctx.raise_if_cancelled()
        await asyncio.sleep(0.02)  # the handler's own polling of the cancel flag


async def wait_for(
    probe: Callable[[], Awaitable[T | None]], *, what: str, within: float = 30.0, interval: float = 0.05
) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await probe()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(interval)


async def get_job(db: Database, job_id: uuid.UUID) -> Job | None:
    async with db.session() as session:
        return await session.get(Job, job_id)


async def wait_for_state(db: Database, job_id: uuid.UUID, *states: str, within: float = 30.0) -> Job:
    async def probe() -> Job | None:
        job = await get_job(db, job_id)
        return job if job is not None and job.state in states else None

    return await wait_for(probe, what=f"job {job_id} to be {'/'.join(states)}", within=within)


@dataclass
class Committed:
    """A migrated scratch database with one committed tenant (jobs read what tests commit)."""

    db: Database
    settings: Settings
    tenant_id: uuid.UUID
    url: str


@asynccontextmanager
async def committed_database(url: str, settings: Settings) -> AsyncIterator[Committed]:
    """One committed tenant in the database at ``url``, already migrated (``migrated_url``)."""
    db = Database(url, pool_size=5)
    try:
        async with db.session() as session:
            tenant = await make_tenant(session, settings)
            tenant_id = tenant.id
            await session.commit()
        yield Committed(db, settings.model_copy(update={"database_url": url}), tenant_id, url)
    finally:
        await db.dispose()


async def count(db: Database, sql: str, **params: Any) -> int:
    async with db.session() as session:
        return int((await session.execute(text(sql), params)).scalar_one())
