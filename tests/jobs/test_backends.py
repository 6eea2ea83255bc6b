"""Jobs run after commit, report progress, fail and cancel cleanly, and survive crashes: in-process on
both databases, through procrastinate workers on PostgreSQL. Committed data in a scratch database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from service.config import Settings
from service.db import Database, discard_after_commit, run_after_commit, utcnow
from service.jobs import backends
from service.jobs.backends import (
    InProcessBackend,
    JobRunner,
    ProcrastinateBackend,
    activate,
    apply_queue_schema_sync,
    backend_name,
    deactivate,
    libpq_conninfo,
)
from service.jobs.models import Job
from service.jobs.service import JobService, transaction
from tests.jobs.helpers import RUNS, Committed, count, get_job, wait_for, wait_for_state


@pytest.fixture
async def inprocess(committed: Committed) -> AsyncIterator[InProcessBackend]:
    # No automatic ticks: the tests drive resume() themselves where they need it.
    backend = InProcessBackend(committed.db, committed.settings, concurrency=2, tick_interval=3600)
    await backend.start()
    activate(backend)
    try:
        yield backend
    finally:
        deactivate(backend)
        await backend.stop()


async def _enqueue(env: Committed, kind: str, area: str = "sync", **params: object) -> uuid.UUID:
    async with transaction(env.db) as session:
        job = await JobService(session, env.tenant_id).enqueue(kind, area, dict(params))
        return job.id


async def test_job_runs_after_commit_with_progress_and_report(
    committed: Committed, inprocess: InProcessBackend
) -> None:
    job_id = await _enqueue(committed, "tests.echo", mode="full")
    job = await wait_for_state(committed.db, job_id, "succeeded", "failed")
    assert job.state == "succeeded", job.error
    assert job.progress == {"step": 2, "of": 2}
    assert job.report == {"echo": {"mode": "full"}, "attempt": 1, "resumed_from": {}}
    assert job.attempts == 1 and job.area == "sync"
    assert job.started_at is not None and job.finished_at is not None
    assert job.created_at <= job.started_at <= job.finished_at


async def test_rolled_back_enqueue_never_runs(committed: Committed, inprocess: InProcessBackend) -> None:
    async with committed.db.session() as session:
        doomed = (await JobService(session, committed.tenant_id).enqueue("tests.echo", "sync", {})).id
        discard_after_commit(session)
        await session.rollback()
    # A later job of the same backend completes; the rolled-back one has no row, so it cannot run.
    sentinel = await _enqueue(committed, "tests.echo")
    await wait_for_state(committed.db, sentinel, "succeeded")
    assert await get_job(committed.db, doomed) is None
    assert doomed not in {job_id for job_id, _ in RUNS}


async def test_handler_failure_is_recorded(committed: Committed, inprocess: InProcessBackend) -> None:
    job_id = await _enqueue(committed, "tests.fail")
    job = await wait_for_state(committed.db, job_id, "failed")
    assert job.error == "RuntimeError: the handler broke on purpose"
    assert job.finished_at is not None and job.report is None


async def test_unknown_kind_is_refused_at_enqueue(committed: Committed) -> None:
    async with committed.db.session() as session:
        with pytest.raises(LookupError, match="no handler"):
            await JobService(session, committed.tenant_id).enqueue("tests.nope", "sync", {})
        with pytest.raises(ValueError, match="unknown job area"):
            await JobService(session, committed.tenant_id).enqueue("tests.echo", "nowhere", {})


async def test_running_job_stops_when_cancelled(committed: Committed, inprocess: InProcessBackend) -> None:
    job_id = await _enqueue(committed, "tests.until_cancelled")

    async def waiting() -> bool:
        job = await get_job(committed.db, job_id)
        return job is not None and job.progress == {"waiting": True}

    await wait_for(waiting, what="the handler to start")
    async with transaction(committed.db) as session:
        job = await JobService(session, committed.tenant_id).cancel(job_id)
        assert job.cancel_requested and job.state == "running"
    job = await wait_for_state(committed.db, job_id, "cancelled", "failed", "succeeded")
    assert job.state == "cancelled" and job.finished_at is not None


async def test_queued_job_cancelled_before_it_runs(committed: Committed) -> None:
    # No backend: the job stays queued until cancelled, and a later backend start skips it.
    job_id = await _enqueue(committed, "tests.echo")
    async with transaction(committed.db) as session:
        job = await JobService(session, committed.tenant_id).cancel(job_id)
        assert job.state == "cancelled"
    backend = InProcessBackend(committed.db, committed.settings, tick_interval=3600)
    await backend.start()
    try:
        assert await backend.resume() == 0
    finally:
        await backend.stop()
    assert job_id not in {j for j, _ in RUNS}


async def test_inprocess_backend_resumes_jobs_after_a_crash(committed: Committed) -> None:
    """A job left running by a dead process (no heartbeat since) and one never handed to a backend
    both run when a backend starts; the resumed handler sees its attempt number and last progress."""
    now = utcnow()
    crashed = Job(
        tenant_id=committed.tenant_id,
        kind="tests.echo",
        area="sync",
        state="running",
        params={"n": 1},
        progress={"step": 1, "of": 2},
        attempts=1,
        started_at=now - timedelta(minutes=10),
        heartbeat_at=now - timedelta(minutes=9),
    )
    async with committed.db.session() as session:
        session.add(crashed)
        await session.commit()
        crashed_id = crashed.id
    stranded = await _enqueue(committed, "tests.echo")  # committed while no backend was running

    backend = InProcessBackend(committed.db, committed.settings, tick_interval=3600)
    await backend.start()
    try:
        job = await wait_for_state(committed.db, crashed_id, "succeeded", "failed")
        assert job.state == "succeeded", job.error
        assert job.attempts == 2
        assert job.report == {"echo": {"n": 1}, "attempt": 2, "resumed_from": {"step": 1, "of": 2}}
        assert (await wait_for_state(committed.db, stranded, "succeeded")).attempts == 1
    finally:
        await backend.stop()


async def test_running_job_with_a_live_heartbeat_is_not_taken_over(committed: Committed) -> None:
    job = Job(
        tenant_id=committed.tenant_id,
        kind="tests.echo",
        area="sync",
        state="running",
        attempts=1,
        heartbeat_at=utcnow(),
    )
    async with committed.db.session() as session:
        session.add(job)
        await session.commit()
    runner = JobRunner(committed.db, committed.settings)
    assert await runner.run(job.id) is None  # someone else holds it
    stored = await get_job(committed.db, job.id)
    assert stored is not None and stored.state == "running" and stored.attempts == 1


async def test_a_job_that_keeps_crashing_is_given_up(committed: Committed) -> None:
    job = Job(
        tenant_id=committed.tenant_id,
        kind="tests.echo",
        area="sync",
        state="running",
        attempts=5,
        heartbeat_at=utcnow() - timedelta(hours=1),
    )
    async with committed.db.session() as session:
        session.add(job)
        await session.commit()
    assert await JobRunner(committed.db, committed.settings, max_attempts=5).run(job.id) == "failed"
    stored = await get_job(committed.db, job.id)
    assert stored is not None and "gave up after 5 attempts" in (stored.error or "")


async def test_stopping_the_backend_puts_a_running_job_back_in_the_queue(committed: Committed) -> None:
    backend = InProcessBackend(committed.db, committed.settings, tick_interval=3600, shutdown_timeout=0.1)
    await backend.start()
    activate(backend)
    try:
        job_id = await _enqueue(committed, "tests.until_cancelled")
        await wait_for_state(committed.db, job_id, "running")
    finally:
        deactivate(backend)
        await backend.stop()
    job = await get_job(committed.db, job_id)
    assert job is not None and job.state == "queued" and job.attempts == 1


def test_backend_selection(settings: Settings) -> None:
    def make(url: str, choice: str) -> Settings:
        return Settings(
            database_url=url,
            jobs_backend=choice,
            token_secret=SecretStr("t" * 48),
            key_encryption_key=SecretStr("k" * 48),
        )

    pg = "postgresql+asyncpg://u:p@db.example:5433/portrait?ssl=require"
    assert backend_name(make("sqlite+aiosqlite:///x.db", "auto")) == "inprocess"
    assert backend_name(make(pg, "auto")) == "procrastinate"
    assert backend_name(make(pg, "inprocess")) == "inprocess"
    assert backend_name(make(pg, "procrastinate")) == "procrastinate"
    with pytest.raises(ValueError, match="needs a PostgreSQL"):
        backend_name(make("sqlite+aiosqlite:///x.db", "procrastinate"))
    assert libpq_conninfo(pg) == "postgresql://u:p@db.example:5433/portrait?sslmode=require"
    assert backends.prepare_queue_sync(make("sqlite+aiosqlite:///x.db", "auto")) is None


# -- procrastinate (PostgreSQL) --------------------------------------------------------------------


async def _procrastinate_jobs(db: Database, job_id: uuid.UUID) -> list[str]:
    async with db.session() as session:
        rows = await session.execute(
            text("SELECT status::text FROM procrastinate_jobs WHERE args ->> 'job_id' = :id ORDER BY id"),
            {"id": str(job_id)},
        )
        return [str(r[0]) for r in rows.all()]


@pytest.mark.postgres_only
async def test_procrastinate_worker_runs_deferred_and_swept_jobs(committed: Committed, backend: str) -> None:
    assert backend == "postgres"
    first = await asyncio.to_thread(apply_queue_schema_sync, committed.url)
    again = await asyncio.to_thread(apply_queue_schema_sync, committed.url)
    assert "installed" in first and "up to date" in again  # idempotent

    queue = ProcrastinateBackend(committed.db, committed.settings, sweep_grace=0)
    await queue.start()
    activate(queue)
    worker: asyncio.Task[None] | None = None
    try:
        # Deferred only after commit: inside the transaction there is no procrastinate job yet.
        async with transaction(committed.db) as session:
            job = await JobService(session, committed.tenant_id).enqueue("tests.echo", "sync", {"via": "pq"})
            deferred_id = job.id
            assert await count(committed.db, "SELECT count(*) FROM procrastinate_jobs") == 0
        assert await _procrastinate_jobs(committed.db, deferred_id) == ["todo"]

        # A job committed by a process that died before deferring it: the sweeper re-defers it.
        orphan = Job(
            tenant_id=committed.tenant_id,
            kind="tests.echo",
            area="sync",
            created_at=utcnow() - timedelta(minutes=5),
        )
        async with committed.db.session() as session:
            session.add(orphan)
            await session.commit()
        assert await queue.sweep() == 1
        assert await queue.sweep() == 0  # now it has a procrastinate job

        worker = asyncio.create_task(
            queue.run_worker(concurrency=2, install_signal_handlers=False, fetch_job_polling_interval=0.2)
        )
        done = await wait_for_state(committed.db, deferred_id, "succeeded", "failed")
        assert done.state == "succeeded", done.error
        assert done.report == {"echo": {"via": "pq"}, "attempt": 1, "resumed_from": {}}
        swept = await wait_for_state(committed.db, orphan.id, "succeeded", "failed")
        assert swept.state == "succeeded", swept.error
    finally:
        if worker is not None:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        deactivate(queue)
        await queue.stop()


async def test_starting_with_queued_jobs_is_not_reported_as_a_recovery(
    committed: Committed, caplog: pytest.LogCaptureFixture
) -> None:
    """A clean first start (the demo queues its issuance before the server runs) logs queued jobs as
    started; only a job whose runner died is reported as resumed, and as a warning."""
    queued = await _enqueue(committed, "tests.echo")
    backend = InProcessBackend(committed.db, committed.settings, tick_interval=3600)
    with caplog.at_level("INFO", logger=backends.logger.name):
        await backend.start()
    try:
        assert (await wait_for_state(committed.db, queued, "succeeded")).attempts == 1
    finally:
        await backend.stop()
    messages = [record.getMessage() for record in caplog.records if record.name == backends.logger.name]
    assert "started 1 queued jobs" in messages
    assert not [m for m in messages if "resumed" in m or "interrupted" in m], messages

    now = utcnow()
    crashed = Job(
        tenant_id=committed.tenant_id,
        kind="tests.echo",
        area="sync",
        state="running",
        params={},
        attempts=1,
        started_at=now - timedelta(minutes=10),
        heartbeat_at=now - timedelta(minutes=9),
    )
    async with committed.db.session() as session:
        session.add(crashed)
        await session.commit()
        crashed_id = crashed.id
    caplog.clear()
    backend = InProcessBackend(committed.db, committed.settings, tick_interval=3600)
    with caplog.at_level("INFO", logger=backends.logger.name):
        await backend.start()
    try:
        assert (await wait_for_state(committed.db, crashed_id, "succeeded")).attempts == 2
    finally:
        await backend.stop()
    warnings = [
        r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "resumed" in r.getMessage()
    ]
    assert warnings == ["resumed 1 interrupted jobs (their runner stopped without finishing)"]


async def test_jobs_of_request_sessions_reach_the_running_backend(
    committed: Committed, inprocess: InProcessBackend
) -> None:
    """Request sessions declare their write intent lazily through a derived engine (same pool, another
    object): a job they enqueue is still handed to this process's backend at commit, not left for a tick."""
    from service.jobs.backends import backend_for
    from service.jobs.service import bound_engine

    maker = committed.db.write_sessionmaker()
    assert maker is not None
    async with maker() as session:
        assert bound_engine(session) is not committed.db.engine.sync_engine
        assert backend_for(bound_engine(session)) is inprocess
        job = await JobService(session, committed.tenant_id).enqueue("tests.echo", "sync", {"mode": "full"})
        await session.commit()
        job_id = job.id
    await run_after_commit(session)
    done = await wait_for_state(committed.db, job_id, "succeeded", "failed")
    assert done.state == "succeeded", done.error
