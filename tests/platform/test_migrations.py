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


def test_0009_moves_oneroster_courses_into_the_roster_and_back(scratch_url: str) -> None:
    """Courses synced before 0009 lived in oneroster_courses: they keep their ids in courses (the sync's
    record index points at them) and return on downgrade."""
    import uuid
    from datetime import UTC, datetime

    import sqlalchemy as sa

    tenants = sa.table(
        "tenants",
        sa.column("id", sa.Uuid()),
        sa.column("slug", sa.String()),
        sa.column("name", sa.String()),
        sa.column("status", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )

    def courses_table(name: str) -> Any:
        return sa.table(
            name,
            sa.column("id", sa.Uuid()),
            sa.column("tenant_id", sa.Uuid()),
            sa.column("sourced_id", sa.String()),
            sa.column("status", sa.String()),
            sa.column("created_at", sa.DateTime(timezone=True)),
            sa.column("updated_at", sa.DateTime(timezone=True)),
            sa.column("title", sa.String()),
            sa.column("course_code", sa.String()),
        )

    tenant_id, course_id, now = uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)

    async def run(statement: Any, fetch: bool = False) -> list[Any]:
        engine = create_engine(scratch_url, pool_size=1)
        try:
            async with engine.begin() as conn:
                result = await conn.execute(statement)
                return [tuple(r) for r in result.all()] if fetch else []
        finally:
            await engine.dispose()

    upgrade_sync(scratch_url, "0006")
    row = {"id": course_id, "tenant_id": tenant_id, "sourced_id": "c-1", "status": "active"}
    row |= {"created_at": now, "updated_at": now, "title": "Algebra I", "course_code": "MATH101"}
    asyncio.run(
        run(
            tenants.insert().values(
                id=tenant_id, slug="d", name="D", status="active", created_at=now, updated_at=now
            )
        )
    )
    asyncio.run(run(courses_table("oneroster_courses").insert().values(**row)))
    upgrade_sync(scratch_url, "0009")
    moved = courses_table("courses")
    rows = asyncio.run(run(sa.select(moved.c.id, moved.c.sourced_id, moved.c.title), fetch=True))
    assert rows == [(course_id, "c-1", "Algebra I")]
    downgrade_sync(scratch_url, "0006")
    back = courses_table("oneroster_courses")
    rows = asyncio.run(run(sa.select(back.c.id, back.c.course_code), fetch=True))
    assert rows == [(course_id, "MATH101")]
