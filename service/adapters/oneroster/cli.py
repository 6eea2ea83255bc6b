"""``portrait sync``: queue a OneRoster sync, run it here, and draw its progress."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from typing import Any, TextIO

from service.adapters.oneroster.schemas import SyncRequest
from service.adapters.oneroster.service import ConnectionService
from service.adapters.oneroster.wire import COLLECTIONS
from service.config import Settings
from service.db import Database
from service.jobs.backends import JobRunner
from service.jobs.models import FINISHED, Job
from service.jobs.schemas import JobRead
from service.jobs.service import transaction
from service.tenancy.service import SYSTEM, TenancyService

BAR_WIDTH = 30
POLL_SECONDS = 0.5


def render(progress: dict[str, Any], *, width: int = BAR_WIDTH) -> str:
    """One status line: the collection being synced, a bar of the collections done, record counts."""
    done = len(progress.get("done", []))
    total = len(COLLECTIONS)
    filled = int(width * done / total)
    counts = progress.get("counts", {})
    fetched = sum(c.get("fetched", 0) for c in counts.values())
    written = sum(c.get("created", 0) + c.get("updated", 0) for c in counts.values())
    current = progress.get("collection") or ("finishing" if done == total else "starting")
    here = counts.get(current, {}).get("fetched", 0) if current in counts else 0
    return (
        f"[{'#' * filled}{'-' * (width - filled)}] {done}/{total} collections | {current} {here} | "
        f"{fetched} fetched, {written} written, {sum(progress.get('errors', {}).values())} errors"
    )


async def _draw(db: Database, job_id: uuid.UUID, out: TextIO, stop: asyncio.Event) -> None:
    last = ""
    while True:
        async with db.session() as session:
            job = await session.get(Job, job_id)
            progress = dict(job.progress) if job is not None else {}
        line = render(progress)
        if line != last:
            out.write("\r" + line.ljust(len(last)))
            out.flush()
            last = line
        if stop.is_set():
            out.write("\n")
            out.flush()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)


async def run_sync_command(
    db: Database,
    settings: Settings,
    tenant_slug: str,
    connection_id: uuid.UUID,
    *,
    mode: str,
    override: bool,
    show_progress: bool,
    out: TextIO | None = None,
) -> dict[str, object]:
    async with transaction(db) as session:
        tenant = await TenancyService(session, settings).get_tenant_by_slug(SYSTEM, tenant_slug)
        job = await ConnectionService(session, tenant.id, settings).enqueue_sync(
            connection_id,
            SyncRequest(mode="full" if mode == "full" else "delta", override=override),
        )
        job_id = job.id
    stop = asyncio.Event()
    drawer = asyncio.create_task(_draw(db, job_id, out or sys.stderr, stop)) if show_progress else None
    try:
        await JobRunner(db, settings).run(job_id)
        while True:  # claimed by a worker elsewhere: follow it
            async with db.session() as session:
                row = await session.get(Job, job_id)
                assert row is not None
                if row.state in FINISHED:
                    return JobRead.model_validate(row).model_dump(mode="json")
            await asyncio.sleep(POLL_SECONDS)
    finally:
        stop.set()
        if drawer is not None:
            await drawer
