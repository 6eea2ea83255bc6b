"""``portrait transcripts``: queue a cohort's transcripts, run the job here, and draw its progress."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from typing import Any, TextIO

from service.config import Settings
from service.db import Database
from service.jobs.backends import JobRunner
from service.jobs.models import FINISHED, Job
from service.jobs.schemas import JobRead
from service.jobs.service import transaction
from service.tenancy.service import SYSTEM, TenancyService
from service.transcripts.schemas import TranscriptBatch
from service.transcripts.service import TranscriptService

BAR_WIDTH = 30
POLL_SECONDS = 0.5


def render(progress: dict[str, Any], total: int, *, width: int = BAR_WIDTH) -> str:
    """One status line: a bar of the learners done, transcripts made, partial ones, errors."""
    done = int(progress.get("next", 0))
    filled = int(width * done / total) if total else width
    return (
        f"[{'#' * filled}{'-' * (width - filled)}] {done}/{total} learners | "
        f"{progress.get('generated', 0)} transcripts, {progress.get('partial', 0)} partial, "
        f"{len(progress.get('errors', []))} errors"
    )


async def _draw(db: Database, job_id: uuid.UUID, total: int, out: TextIO, stop: asyncio.Event) -> None:
    last = ""
    while True:
        async with db.session() as session:
            job = await session.get(Job, job_id)
            progress = dict(job.progress) if job is not None else {}
        line = render(progress, total)
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


async def run_transcripts_command(
    db: Database,
    settings: Settings,
    tenant_slug: str,
    request: TranscriptBatch,
    *,
    show_progress: bool,
    out: TextIO | None = None,
) -> dict[str, object]:
    """Queue the batch as an ordinary job, run it in this process (or follow it, if a worker took it
    first) and return the job as JSON."""
    async with transaction(db) as session:
        tenant = await TenancyService(session, settings).get_tenant_by_slug(SYSTEM, tenant_slug)
        job = await TranscriptService(session, tenant.id, settings).enqueue_batch(request)
        job_id, total = job.id, len(job.params["learner_ids"])
    stop = asyncio.Event()
    drawer = asyncio.create_task(_draw(db, job_id, total, out or sys.stderr, stop)) if show_progress else None
    try:
        await JobRunner(db, settings).run(job_id)
        while True:
            async with db.session() as session:
                row = await session.get(Job, job_id)
                assert row is not None
                if row.state in FINISHED:
                    read = JobRead.model_validate(row).model_dump(mode="json")
                    read["params"] = {**read["params"], "learner_ids": f"{total} learners"}
                    return read
            await asyncio.sleep(POLL_SECONDS)
    finally:
        stop.set()
        if drawer is not None:
            await drawer
