"""PORTRAIT_DATABASE_PGBOUNCER: behind PgBouncer in transaction mode no prepared statement may outlive a
statement. Checked on the real server: pg_prepared_statements lists the named statements of the
session, and psycopg's connections (procrastinate) report their prepare threshold."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from service.app import create_app
from service.config import Settings
from service.db import Database
from service.jobs.backends import ProcrastinateBackend


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PORTRAIT_DATABASE_PGBOUNCER", raising=False)
    assert Settings(mode="embedded").database_pgbouncer is False
    monkeypatch.setenv("PORTRAIT_DATABASE_PGBOUNCER", "true")
    assert Settings(mode="embedded").database_pgbouncer is True


async def _named_statements_after_queries(db: Database) -> int | None:
    """Run a few statements (one repeated, one with a JSON parameter) on one connection; then the number
    of named prepared statements that connection holds on the server (None on SQLite)."""
    async with db.engine.connect() as conn:
        for _ in range(3):
            query = text("SELECT count(*) FROM tenants WHERE slug = :slug")
            found = await conn.scalar(query, {"slug": "none"})
            assert found == 0
        assert await conn.scalar(text("SELECT :n + 1"), {"n": 41}) == 42
        if db.dialect != "postgresql":
            return None
        return int(await conn.scalar(text("SELECT count(*) FROM pg_prepared_statements")) or 0)


async def test_engine_keeps_no_prepared_statements_behind_pgbouncer(backend: str, database_url: str) -> None:
    pooled = Database(database_url, pool_size=1, pgbouncer=True)
    direct = Database(database_url, pool_size=1)
    try:
        assert pooled.pgbouncer and not direct.pgbouncer
        behind_pgbouncer = await _named_statements_after_queries(pooled)
        default = await _named_statements_after_queries(direct)
    finally:
        await pooled.dispose()
        await direct.dispose()
    if backend == "postgres":
        assert behind_pgbouncer == 0
        assert default is not None and default > 0  # the statement caches keep named statements by default
    else:  # SQLite has no server-side statements: the setting changes nothing and queries still run
        assert behind_pgbouncer is None and default is None


async def test_app_passes_the_setting_to_its_engine_and_job_queue(backend: str, settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"database_pgbouncer": True}))
    async with app.router.lifespan_context(app):
        db: Database = app.state.db
        assert db.pgbouncer
        assert await _named_statements_after_queries(db) in (0, None)
        jobs = app.state.jobs
        if backend == "postgres":
            assert isinstance(jobs, ProcrastinateBackend)
            async with jobs.app.connector.pool.connection() as conn:
                assert conn.prepare_threshold is None  # psycopg never prepares server-side
    if backend == "postgres":  # and by default psycopg prepares from the fifth execution on
        direct = Database(settings.database_url, pool_size=1)
        queue = ProcrastinateBackend(direct, settings, pool_max_size=1)
        await queue.start()
        try:
            async with queue.app.connector.pool.connection() as conn:
                assert conn.prepare_threshold == 5
        finally:
            await queue.stop()
            await direct.dispose()
