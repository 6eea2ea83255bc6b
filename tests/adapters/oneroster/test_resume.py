"""A sync killed midway (SIGKILL of the worker process) and resumed ends with exactly the data, and the
same report, as an uninterrupted one."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from datetime import timedelta

from sqlalchemy import update

from service.adapters.oneroster.schemas import ConnectionCreate, SyncRequest
from service.adapters.oneroster.service import ConnectionService
from service.db import utcnow
from service.jobs.backends import JobRunner
from service.jobs.models import Job
from service.jobs.service import transaction
from tests.adapters.oneroster.fake_server import small_district
from tests.adapters.oneroster.helpers import SyncEnv, snapshot
from tests.factories import make_tenant
from tests.jobs.helpers import wait_for

WORKER = """
import asyncio, sys, uuid
from service.config import Settings
from service.db import Database
from service.jobs.backends import JobRunner

async def main() -> None:
    settings = Settings()
    db = Database(settings.database_url, pool_size=2)
    await JobRunner(db, settings).run(uuid.UUID(sys.argv[1]))

asyncio.run(main())
"""


async def test_killed_sync_resumes_without_loss_or_duplication(env: SyncEnv) -> None:
    small_district(env.fake, students=12, classes=3)  # 36 results: 9 pages of 4
    async with transaction(env.db) as session:
        job = await ConnectionService(session, env.tenant_id, env.settings).enqueue_sync(
            env.connection_id, SyncRequest(mode="full")
        )
        job_id = job.id
    s = env.settings
    child_env = {
        **os.environ,
        "PORTRAIT_DATABASE_URL": s.database_url,
        "PORTRAIT_TOKEN_SECRET": s.token_secret_value(),
        "PORTRAIT_KEY_ENCRYPTION_KEY": s.key_encryption_key.get_secret_value()
        if s.key_encryption_key
        else "",
        "PORTRAIT_VAR_DIR": str(s.var_dir),
        "PORTRAIT_OUTBOUND__ALLOW_PRIVATE": "true",
        "PORTRAIT_ONEROSTER__PAGE_SIZE": "4",
        "PORTRAIT_ONEROSTER__MAX_CONCURRENCY": "1",
        "PORTRAIT_JOBS_BACKEND": "inprocess",
    }
    env.fake.delay["results"] = 0.15
    worker = await asyncio.create_subprocess_exec(sys.executable, "-c", WORKER, str(job_id), env=child_env)

    async def midway() -> bool:
        current = await env.job(job_id)
        progress = current.progress or {}
        fetched = progress.get("counts", {}).get("results", {}).get("fetched", 0)
        return progress.get("collection") == "results" and 8 <= fetched < 36

    try:
        await wait_for(midway, what="the sync to be half-way through results", within=60)
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    killed = await env.job(job_id)
    assert killed.state == "running" and killed.attempts == 1  # as a dead worker leaves it
    env.fake.delay.clear()
    # Time passes: the dead worker's heartbeat goes stale, and a backend takes the job over.
    async with env.db.session() as session:
        await session.execute(
            update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow() - timedelta(minutes=5))  # type: ignore[arg-type]
        )
        await session.commit()
    assert await JobRunner(env.db, env.settings).run(job_id) == "succeeded"
    resumed = await env.job(job_id)
    assert resumed.attempts == 2
    # it went on from the page after the last committed one, not from the start
    assert len(env.fake.requests_to("orgs")) == 1

    # the same provider synced without interruption into another district
    async with transaction(env.db) as session:
        other = await make_tenant(session, env.settings)
        connection = await ConnectionService(session, other.id, env.settings).create(
            ConnectionCreate(
                base_url=env.fake.url,
                token_url=env.fake.token_url,
                client_id=env.fake.client_id,
                client_secret=env.fake.client_secret,
            )
        )
        reference = SyncEnv(env.db, env.settings, other.id, connection.id, env.fake)
    clean = await reference.run("full")
    assert clean.state == "succeeded"
    assert await snapshot(env.db, env.tenant_id) == await snapshot(env.db, other.id)
    assert resumed.report is not None and clean.report is not None
    assert resumed.report["collections"] == clean.report["collections"]
    assert resumed.report["totals"]["created"] == clean.report["totals"]["fetched"]
    assert uuid.UUID(str(resumed.params["connection_id"])) == env.connection_id
