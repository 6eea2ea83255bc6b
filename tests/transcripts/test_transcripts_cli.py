"""``portrait transcripts``: a class's transcripts made by the command, with its progress bar."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app as cli
from service.config import Settings, get_settings
from service.db import Database
from service.transcripts.cli import render, run_transcripts_command
from service.transcripts.schemas import TranscriptBatch
from tests.factories import make_tenant
from tests.transcripts.helpers import seed


@pytest.fixture
def cli_env(scratch_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("PORTRAIT_DATABASE_URL", scratch_url)
    monkeypatch.setenv("PORTRAIT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PORTRAIT_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_render_draws_the_bar() -> None:
    line = render({"next": 15, "generated": 14, "partial": 3, "errors": [{"x": 1}]}, 30, width=10)
    assert line == "[#####-----] 15/30 learners | 14 transcripts, 3 partial, 1 errors"


def test_command_generates_a_class(cli_env: Settings) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0

    async def prepare() -> tuple[str, str]:
        db = Database(cli_env.database_url, pool_size=2)
        try:
            async with db.session() as session:
                tenant = await make_tenant(session, cli_env, slug="lincoln")
                slug = tenant.slug
                seeded = await seed(session, tenant.id, cli_env, learners=2)
                return slug, str(seeded.class_id)
        finally:
            await db.dispose()

    slug, class_id = asyncio.run(prepare())
    result = runner.invoke(cli, ["transcripts", "--tenant", slug, "--class", class_id, "--no-progress"])
    assert result.exit_code == 0, result.output
    job = json.loads(result.stdout[result.stdout.index("{") :])
    assert job["state"] == "succeeded" and job["report"]["generated"] == 2 and job["report"]["errors"] == []

    async def again_with_bar() -> tuple[dict[str, object], str]:
        db = Database(cli_env.database_url, pool_size=2)
        out = io.StringIO()
        try:
            request = TranscriptBatch.model_validate(
                {"class_id": class_id, "options": {"include_courses": False}}
            )
            job = await run_transcripts_command(db, cli_env, slug, request, show_progress=True, out=out)
            return job, out.getvalue()
        finally:
            await db.dispose()

    job2, drawn = asyncio.run(again_with_bar())
    assert job2["state"] == "succeeded"
    assert "2/2 learners | 2 transcripts" in drawn

    for args in (
        ["transcripts", "--tenant", slug],
        ["transcripts", "--tenant", slug, "--class", class_id, "--grade", "12"],
        ["transcripts", "--tenant", slug, "--class", "not-a-uuid"],
        ["transcripts", "--tenant", "nowhere", "--class", class_id],
    ):
        bad = runner.invoke(cli, args)
        assert bad.exit_code != 0, args
        assert "Traceback" not in bad.output
