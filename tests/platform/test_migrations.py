"""Alembic owns the schema: head matches the models exactly, and every revision is reversible."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import service.models  # noqa: F401
from service.db import create_engine, metadata
from service.migrations import downgrade_sync, head_revision, upgrade_sync


def _inspect(url: str) -> tuple[list[Any], list[str], str | None]:
    async def run() -> tuple[list[Any], list[str], str | None]:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as conn:

                def sync(c: Any) -> tuple[list[Any], list[str], str | None]:
                    ctx = MigrationContext.configure(
                        c, opts={"compare_type": True, "compare_server_default": True}
                    )
                    return (
                        compare_metadata(ctx, metadata),
                        inspect(c).get_table_names(),
                        ctx.get_current_revision(),
                    )

                return await conn.run_sync(sync)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_upgrade_head_leaves_no_autogenerate_drift(scratch_url: str) -> None:
    upgrade_sync(scratch_url)
    diff, tables, revision = _inspect(scratch_url)
    assert revision == head_revision()
    assert diff == [], f"models and migrations differ: {diff}"
    assert {"tenants", "api_clients", "people", "classes", "enrollments"} <= set(tables)


def test_every_revision_downgrades_and_upgrades_again(scratch_url: str) -> None:
    upgrade_sync(scratch_url)
    downgrade_sync(scratch_url, "base")
    _, tables, revision = _inspect(scratch_url)
    assert revision is None
    assert set(tables) <= {"alembic_version"}
    upgrade_sync(scratch_url)
    diff, _, revision = _inspect(scratch_url)
    assert revision == head_revision() and diff == []
