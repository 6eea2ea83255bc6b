"""Liveness and readiness probes (no auth)."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from service import __version__
from service.api.problems import problem_response
from service.db import Database
from service.migrations import head_revision

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str


class Readiness(BaseModel):
    status: str
    database: str
    revision: str | None
    head: str | None


@router.get(
    "/health",
    summary="Liveness: the process answers",
    description=(
        "Answers 200 as long as the process runs; touches no database, so it suits a container's "
        "liveness probe."
    ),
    response_model=Health,
)
async def health() -> Health:
    return Health(status="ok", version=__version__)


@router.get(
    "/ready",
    summary="Readiness: database reachable and migrated to head",
    description=(
        "200 when the database answers and its schema is at the expected Alembic revision, 503 "
        "otherwise; use it as a readiness probe before sending traffic."
    ),
    response_model=Readiness,
    responses={503: {"description": "not ready (problem document says why)"}},
)
async def ready(request: Request) -> JSONResponse:
    db: Database = request.app.state.db
    try:
        # Outside a transaction: a probe must never wait for (or take) a write lock.
        async with db.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("SELECT 1"))
            revision = await conn.run_sync(
                lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
            )
    except Exception:
        return problem_response(503, "database_unreachable", "the database cannot be reached")
    head = head_revision()
    if revision != head:
        return problem_response(
            503, "migrations_pending", f"database at revision {revision}, code expects {head}"
        )
    return JSONResponse(
        Readiness(status="ready", database=db.dialect, revision=revision, head=head).model_dump()
    )
