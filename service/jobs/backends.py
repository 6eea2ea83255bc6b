"""Where jobs run: in the app process (SQLite, the embedded default) or on procrastinate workers
(PostgreSQL), behind one small protocol. Both execute a job the same way, through :class:`JobRunner`.

Selection (:func:`backend_name`): ``settings.jobs_backend`` = ``inprocess`` forces the in-process
backend; ``auto`` (the default) picks procrastinate on PostgreSQL and in-process on SQLite;
``procrastinate`` on SQLite is a configuration error.

* :class:`InProcessBackend`: asyncio tasks with a concurrency limit, started and stopped by the app's
  lifespan (``portrait worker`` can run one too). At start, and then on every tick, it picks up queued
  jobs and jobs left ``running`` by a process that died (no heartbeat for ``stale_after`` seconds).
* :class:`ProcrastinateBackend`: the app process only defers (after commit, one procrastinate job per
  job, ``queueing_lock`` = job id so a second defer is a no-op); ``portrait worker`` processes run
  them, on as many machines as wanted. A periodic task (every minute, once across all workers) retries
  procrastinate jobs of dead workers, re-defers our jobs that have no live procrastinate job (the app
  died between commit and defer) and runs the registered periodic passes (webhook retries).

Our ``jobs`` row stays the source of truth for state, progress and report: the runner claims it with
a compare-and-set (``queued`` -> ``running``), so a job handed over twice still runs once at a time.
Procrastinate's schema is applied by ``portrait migrate`` (:func:`apply_queue_schema_sync`).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
import re
import uuid
import weakref
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import Pool

from service.config import Settings
from service.db import Database, utcnow
from service.jobs import registry
from service.jobs.errors import JobCancelled, UnknownJobKind
from service.jobs.models import CANCELLED, FAILED, RUNNING, SUCCEEDED
from service.jobs.registry import JobContext
from service.jobs.repository import JobRunRepository

logger = logging.getLogger(__name__)

QUEUE = "portrait"
RUN_TASK = "portrait.run_job"
TICK_TASK = "portrait.tick"
TICK_CRON = "* * * * *"
MAX_ERROR_CHARS = 4000

BackendName = Literal["inprocess", "procrastinate"]


class JobBackend(Protocol):
    name: str
    db: Database

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def submit(self, job_id: uuid.UUID) -> None:
        """Hand over a committed job; must not raise for a job already handed over."""


# -- which backend serves which database --------------------------------------------------------

# Keyed by the engine's connection pool: sessions may be bound to a derived engine
# (``engine.execution_options(...)``, e.g. the lazily-writing request sessions) that shares the pool but is
# another object, and their jobs belong to the same backend.
_active: weakref.WeakKeyDictionary[Pool, JobBackend] = weakref.WeakKeyDictionary()


def activate(backend: JobBackend) -> None:
    """Make ``backend`` receive the jobs enqueued through sessions of its database's engine."""
    _active[backend.db.engine.sync_engine.pool] = backend


def deactivate(backend: JobBackend) -> None:
    pool = backend.db.engine.sync_engine.pool
    if _active.get(pool) is backend:
        del _active[pool]


def backend_for(engine: Engine) -> JobBackend | None:
    return _active.get(engine.pool)


# -- executing one job -----------------------------------------------------------------------------


class JobRunner:
    """Claims a job, runs its handler with heartbeats, records the outcome."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        heartbeat_interval: float | None = None,
        stale_after: float | None = None,
        max_attempts: int = 5,
    ) -> None:
        # Defaults from settings: a dead worker's job is resumed within seconds, not minutes.
        heartbeat_interval = heartbeat_interval or settings.jobs_heartbeat_seconds
        stale_after = stale_after or settings.jobs_stale_after_seconds
        if stale_after <= heartbeat_interval:
            raise ValueError("stale_after must exceed heartbeat_interval")
        self.db = db
        self.settings = settings
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        self.max_attempts = max_attempts

    def stale_before(self) -> datetime:
        return utcnow() - timedelta(seconds=self.stale_after)

    async def run(self, job_id: uuid.UUID) -> str | None:
        """Run the job if it can be claimed; the final state, or None when it was not claimed or was
        interrupted (then it is queued again)."""
        async with self.db.session() as session:
            repo = JobRunRepository(session)
            claimed = await repo.claim(job_id, now=utcnow(), stale_before=self.stale_before())
            await session.commit()
            if not claimed:
                return None
            job = await repo.get(job_id)
            await session.commit()
        assert job is not None
        if job.cancel_requested:
            return await self._finish(job_id, CANCELLED, error="cancelled before it started")
        if job.attempts > self.max_attempts:
            return await self._finish(
                job_id,
                FAILED,
                error=f"gave up after {self.max_attempts} attempts that stopped without finishing "
                "(process crashes or restarts)",
            )
        try:
            handler = registry.get_handler(job.kind)
        except UnknownJobKind as exc:
            return await self._finish(job_id, FAILED, error=str(exc))
        ctx = JobContext(
            job_id=job.id,
            tenant_id=job.tenant_id,
            kind=job.kind,
            area=job.area,
            params=dict(job.params),
            attempt=job.attempts,
            last_progress=dict(job.progress),
            db=self.db,
            settings=self.settings,
        )
        heartbeat = asyncio.create_task(self._heartbeat(job_id), name=f"job-heartbeat-{job_id}")
        try:
            report = await handler(ctx)
        except JobCancelled as exc:
            return await self._finish(job_id, CANCELLED, error=str(exc) or "cancelled")
        except asyncio.CancelledError:
            # The process is stopping: put the job back so that the next start resumes it at once.
            await asyncio.shield(self._requeue(job_id))
            raise
        except Exception as exc:
            logger.exception("job %s (%s) failed", job_id, job.kind)
            return await self._finish(job_id, FAILED, error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])
        finally:
            heartbeat.cancel()
        return await self._finish(job_id, SUCCEEDED, report=dict(report or {}))

    async def _heartbeat(self, job_id: uuid.UUID) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)  # a timer, not synchronisation
            try:
                async with self.db.session() as session:
                    await JobRunRepository(session).heartbeat(job_id, utcnow())
                    await session.commit()
            except Exception:
                logger.warning("heartbeat of job %s failed", job_id, exc_info=True)

    async def _finish(
        self, job_id: uuid.UUID, state: str, *, report: dict[str, Any] | None = None, error: str | None = None
    ) -> str:
        async with self.db.session() as session:
            repo = JobRunRepository(session)
            await repo.finish(job_id, state=state, now=utcnow(), report=report, error=error)
            await session.commit()
        logger.info("job %s %s", job_id, state)
        return state

    async def _requeue(self, job_id: uuid.UUID) -> None:
        async with self.db.session() as session:
            await JobRunRepository(session).requeue(job_id)
            await session.commit()


async def run_periodic(db: Database, settings: Settings) -> None:
    """Every registered periodic pass; one failing does not stop the others."""
    for name, fn in registry.periodic_passes().items():
        try:
            await fn(db, settings)
        except Exception:
            logger.exception("periodic pass %s failed", name)


# -- in-process ------------------------------------------------------------------------------------


class InProcessBackend:
    """asyncio tasks in this process; resumes unfinished jobs at start and on every tick."""

    name = "inprocess"

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        concurrency: int = 4,
        tick_interval: float = 30.0,
        shutdown_timeout: float = 10.0,
        runner: JobRunner | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.runner = runner or JobRunner(db, settings)
        self.tick_interval = tick_interval
        self.shutdown_timeout = shutdown_timeout
        self._semaphore = asyncio.Semaphore(concurrency)
        self._known: set[uuid.UUID] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        registry.load_handlers()
        self._stopping = False
        queued, interrupted = await self._resume(500)
        # Queued jobs (the demo's issuance, work committed while no backend ran) are routine; only
        # jobs whose runner died mid-way are a recovery worth a warning.
        if queued:
            logger.info("started %d queued jobs", queued)
        if interrupted:
            logger.warning(
                "resumed %d interrupted jobs (their runner stopped without finishing)", interrupted
            )
        self._ticker = asyncio.create_task(self._tick_loop(), name="jobs-ticker")

    async def stop(self) -> None:
        self._stopping = True
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        tasks = list(self._tasks)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=self.shutdown_timeout)
            for task in pending:
                task.cancel()  # the runner puts an interrupted job back in the queue
            await asyncio.gather(*tasks, return_exceptions=True)

    async def submit(self, job_id: uuid.UUID) -> None:
        if self._stopping or job_id in self._known:
            return
        self._known.add(job_id)
        task = asyncio.create_task(self._run(job_id), name=f"job-{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job_id: uuid.UUID) -> None:
        try:
            async with self._semaphore:
                if not self._stopping:
                    await self.runner.run(job_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("running job %s failed", job_id)
        finally:
            self._known.discard(job_id)

    async def resume(self, limit: int = 500) -> int:
        """Submit queued jobs and jobs whose runner died; those already in hand are skipped."""
        queued, interrupted = await self._resume(limit)
        return queued + interrupted

    async def _resume(self, limit: int) -> tuple[int, int]:
        """``resume``, counting the jobs submitted as (queued, interrupted)."""
        async with self.db.session() as session:
            rows = await JobRunRepository(session).runnable(
                stale_before=self.runner.stale_before(), limit=limit
            )
        fresh = [(job_id, state) for job_id, state in rows if job_id not in self._known]
        for job_id, _state in fresh:
            await self.submit(job_id)
        interrupted = sum(1 for _job_id, state in fresh if state == RUNNING)
        return len(fresh) - interrupted, interrupted

    async def tick(self) -> None:
        await self.resume()
        await run_periodic(self.db, self.settings)

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval)  # a timer, not synchronisation
            try:
                await self.tick()
            except Exception:
                logger.exception("jobs tick failed")

    async def run_forever(self) -> None:
        """``portrait worker`` on SQLite: run until cancelled."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()


# -- procrastinate ---------------------------------------------------------------------------------

_LIBPQ_SSL = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}


def libpq_conninfo(database_url: str) -> str:
    """The libpq URL (psycopg) of an SQLAlchemy ``postgresql+asyncpg://`` URL."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("procrastinate needs a PostgreSQL database URL")
    query = dict(url.query)
    ssl = query.pop("ssl", None)
    if isinstance(ssl, str) and ssl in _LIBPQ_SSL and "sslmode" not in query:
        query["sslmode"] = ssl
    return url.set(drivername="postgresql", query=query).render_as_string(hide_password=False)


class ProcrastinateBackend:
    """Defers to procrastinate; ``run_worker`` executes jobs (``portrait worker``)."""

    name = "procrastinate"

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        runner: JobRunner | None = None,
        sweep_grace: float = 30.0,
        pool_max_size: int = 10,
    ) -> None:
        import procrastinate

        self.db = db
        self.settings = settings
        self.runner = runner or JobRunner(db, settings)
        self.sweep_grace = sweep_grace
        # Behind PgBouncer in transaction mode psycopg must not prepare statements server-side (it does
        # from a query's fifth execution on): prepare_threshold=None turns that off.
        connection_kwargs: dict[str, Any] = {"prepare_threshold": None} if db.pgbouncer else {}
        connector = procrastinate.PsycopgConnector(
            conninfo=libpq_conninfo(db.url), min_size=1, max_size=pool_max_size, kwargs=connection_kwargs
        )
        self.app = procrastinate.App(connector=connector)

        async def run_job(job_id: str) -> None:
            await self.runner.run(uuid.UUID(job_id))

        async def tick(timestamp: int) -> None:
            await self.tick()

        self.run_task = self.app.task(name=RUN_TASK, queue=QUEUE)(run_job)
        tick_task = self.app.task(name=TICK_TASK, queue=QUEUE, queueing_lock=TICK_TASK)(tick)
        self.app.periodic(cron=TICK_CRON, periodic_id="portrait")(tick_task)

    async def start(self) -> None:
        registry.load_handlers()
        await self.app.open_async()

    async def stop(self) -> None:
        await self.app.close_async()

    async def submit(self, job_id: uuid.UUID) -> None:
        from procrastinate.exceptions import AlreadyEnqueued

        with contextlib.suppress(AlreadyEnqueued):  # a procrastinate job for it is already waiting
            await self.run_task.configure(queueing_lock=str(job_id)).defer_async(job_id=str(job_id))

    async def tick(self) -> None:
        await self.sweep()
        await run_periodic(self.db, self.settings)

    async def sweep(self, limit: int = 500) -> int:
        """Retry procrastinate jobs of dead workers; re-defer our jobs that nothing will run."""
        manager = self.app.job_manager
        stalled_jobs = await manager.get_stalled_jobs(
            queue=QUEUE, task_name=RUN_TASK, seconds_since_heartbeat=self.settings.jobs_stale_after_seconds
        )
        for stalled in stalled_jobs:
            try:
                await manager.retry_job(stalled)
            except Exception:  # e.g. another procrastinate job for the same job id is waiting
                logger.info("stalled procrastinate job %s not retried", stalled.id, exc_info=True)
        now = utcnow()
        async with self.db.session() as session:
            orphans = await JobRunRepository(session).without_queue_job(
                queue=QUEUE,
                task=RUN_TASK,
                created_before=now - timedelta(seconds=self.sweep_grace),
                stale_before=self.runner.stale_before(),
                limit=limit,
            )
        for job_id in orphans:
            await self.submit(job_id)
        if orphans:
            logger.info("re-deferred %d jobs that had no procrastinate job", len(orphans))
        return len(orphans)

    async def run_worker(
        self,
        *,
        concurrency: int = 4,
        wait: bool = True,
        install_signal_handlers: bool = True,
        name: str | None = None,
        fetch_job_polling_interval: float = 5.0,
    ) -> None:
        """Process jobs until stopped (SIGINT/SIGTERM, or cancelling the task); the app must be open.

        Alongside, every ``jobs_sweep_seconds`` the worker retries procrastinate jobs of workers whose
        heartbeat stopped ``jobs_stale_after_seconds`` ago (procrastinate's stalled-job retry), instead
        of waiting for the once-a-minute tick."""
        sweeper = asyncio.create_task(self._sweep_loop(), name="jobs-sweeper")
        try:
            await self.app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                wait=wait,
                install_signal_handlers=install_signal_handlers,
                name=name or "portrait-worker",
                delete_jobs="successful",
                fetch_job_polling_interval=fetch_job_polling_interval,
                update_heartbeat_interval=self.settings.jobs_heartbeat_seconds,
                stalled_worker_timeout=self.settings.jobs_stale_after_seconds,
            )
        finally:
            sweeper.cancel()
            await asyncio.gather(sweeper, return_exceptions=True)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.jobs_sweep_seconds)  # a timer, not synchronisation
            try:
                await self.sweep()
            except Exception:
                logger.warning("jobs sweep failed", exc_info=True)


# -- selection and schema --------------------------------------------------------------------------


def backend_name(settings: Settings, dialect: str | None = None) -> BackendName:
    sqlite = (dialect == "sqlite") if dialect is not None else settings.is_sqlite
    if settings.jobs_backend == "inprocess":
        return "inprocess"
    if sqlite:
        if settings.jobs_backend == "procrastinate":
            raise ValueError("jobs_backend=procrastinate needs a PostgreSQL database")
        return "inprocess"
    return "procrastinate"


def create_backend(settings: Settings, db: Database) -> InProcessBackend | ProcrastinateBackend:
    if backend_name(settings, db.dialect) == "procrastinate":
        return ProcrastinateBackend(db, settings)
    return InProcessBackend(db, settings)


_SCHEMA_LOCK = 7_300_417_221  # pg_advisory_xact_lock key: one schema change at a time
_COMMENT = re.compile(r"procrastinate schema (\d+(?:\.\d+)*)")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def apply_queue_schema_sync(database_url: str) -> str:
    """Install procrastinate's schema, or upgrade it with procrastinate's own migration files.

    Idempotent and safe to run concurrently (advisory lock). The installed version is kept in a
    comment on ``procrastinate_jobs``; a schema installed by other means (no comment) is left alone.
    """
    import psycopg
    from procrastinate.schema import SchemaManager

    current = importlib.metadata.version("procrastinate")
    comment = f"procrastinate schema {current} (managed by portrait migrate)"
    with psycopg.connect(libpq_conninfo(database_url)) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        row = conn.execute("SELECT obj_description(to_regclass('procrastinate_jobs'), 'pg_class')").fetchone()
        exists_row = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
        exists = bool(exists_row and exists_row[0])
        if not exists:
            conn.execute(SchemaManager.get_schema().encode())
            conn.execute(f"COMMENT ON TABLE procrastinate_jobs IS '{comment}'".encode())
            return f"procrastinate schema {current} installed"
        found = _COMMENT.search(str(row[0] if row else "") or "")
        if found is None:
            return "procrastinate schema present (installed outside portrait; not upgraded)"
        installed = _version(found.group(1))
        if installed >= _version(current):
            return f"procrastinate schema {found.group(1)} up to date"
        folder = Path(SchemaManager.get_migrations_path())
        migrations = sorted(
            (p for p in folder.glob("*.sql") if _version(p.name) > installed), key=lambda p: p.name
        )
        for path in migrations:
            conn.execute(path.read_text(encoding="utf-8").encode())
        conn.execute(f"COMMENT ON TABLE procrastinate_jobs IS '{comment}'".encode())
        return f"procrastinate schema upgraded from {found.group(1)} to {current} ({len(migrations)} files)"


def prepare_queue_sync(settings: Settings) -> str | None:
    """What ``portrait migrate`` runs after Alembic: the queue's own schema, when it has one."""
    if backend_name(settings) != "procrastinate":
        return None
    return apply_queue_schema_sync(settings.database_url)
