"""The app's lifespan starts the selected jobs backend; `portrait migrate` installs the queue schema."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.app import create_app
from service.cli import app as cli
from service.config import get_settings
from service.jobs.backends import apply_queue_schema_sync, backend_for
from service.jobs.service import JobService, transaction
from tests.jobs.helpers import Committed, count, wait_for_state


async def test_lifespan_starts_and_stops_the_selected_backend(committed: Committed, backend: str) -> None:
    if backend == "postgres":
        await asyncio.to_thread(apply_queue_schema_sync, committed.url)
    app = create_app(committed.settings, database=committed.db)
    engine = committed.db.engine.sync_engine
    async with app.router.lifespan_context(app):
        jobs = app.state.jobs
        assert jobs.name == ("procrastinate" if backend == "postgres" else "inprocess")
        assert backend_for(engine) is jobs
        async with transaction(committed.db) as session:
            job = await JobService(session, committed.tenant_id).enqueue("tests.echo", "sync", {})
        if backend == "postgres":  # deferred for a worker (the app process does not run jobs)
            assert (
                await count(committed.db, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'")
                == 1
            )
        else:
            assert (await wait_for_state(committed.db, job.id, "succeeded")).report is not None
    assert backend_for(engine) is None


@pytest.fixture
def cli_env(scratch_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PORTRAIT_DATABASE_URL", scratch_url)
    monkeypatch.setenv("PORTRAIT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PORTRAIT_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("cli_env")
def test_migrate_installs_the_queue_schema_once(backend: str) -> None:
    first = CliRunner().invoke(cli, ["migrate"])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(cli, ["migrate"])
    assert second.exit_code == 0, second.output
    if backend == "postgres":
        assert "procrastinate schema 3." in first.stdout and "installed" in first.stdout
        assert "up to date" in second.stdout
    else:
        assert "procrastinate" not in first.stdout + second.stdout
