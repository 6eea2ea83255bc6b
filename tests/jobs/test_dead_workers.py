"""Jobs of a dead worker are resumed within seconds (issue 11): a running job whose heartbeat stopped
``jobs_stale_after_seconds`` (10 s) ago is taken over; before, it waited 45 s plus the minute tick."""

from __future__ import annotations

from datetime import timedelta

from service.db import utcnow
from service.jobs.backends import JobRunner
from service.jobs.models import Job
from tests.jobs.helpers import Committed, get_job


async def test_a_job_silent_for_the_stale_delay_is_taken_over(committed: Committed) -> None:
    settings = committed.settings
    assert settings.jobs_heartbeat_seconds < settings.jobs_stale_after_seconds <= 10
    job = Job(
        tenant_id=committed.tenant_id,
        kind="tests.echo",
        area="sync",
        state="running",
        attempts=1,
        heartbeat_at=utcnow() - timedelta(seconds=settings.jobs_stale_after_seconds + 2),
    )
    async with committed.db.session() as session:
        session.add(job)
        await session.commit()
    assert await JobRunner(committed.db, settings).run(job.id) == "succeeded"
    stored = await get_job(committed.db, job.id)
    assert stored is not None and stored.attempts == 2
