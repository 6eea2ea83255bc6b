"""The cohort job: transcripts of up to 5,000 learners, 20 per transaction.

Resumable and idempotent as the job framework requires: each transcript carries the job's id, and a
resumed job skips learners that already have a transcript of this job; the resume point is the next
learner index. A learner that cannot get a transcript is reported, the others go on.
"""

from __future__ import annotations

import uuid
from typing import Any

from service.errors import ServiceError
from service.jobs.registry import JobContext, register
from service.transcripts.repository import TranscriptRepository
from service.transcripts.schemas import TranscriptOptions
from service.transcripts.service import BATCH_KIND, TranscriptService

CHUNK = 20


@register(BATCH_KIND)
async def generate_batch(ctx: JobContext) -> dict[str, Any]:
    learner_ids = [uuid.UUID(value) for value in ctx.params.get("learner_ids", [])]
    options = TranscriptOptions.model_validate(ctx.params.get("options", {}))
    position = int(ctx.last_progress.get("next", 0))
    generated = int(ctx.last_progress.get("generated", 0))
    partial = int(ctx.last_progress.get("partial", 0))
    errors: list[dict[str, Any]] = list(ctx.last_progress.get("errors", []))
    total = len(learner_ids)
    while position < total:
        chunk = learner_ids[position : position + CHUNK]
        async with ctx.transaction() as session:
            done = await TranscriptRepository(session, ctx.tenant_id).learners_with_job_transcript(
                chunk, ctx.job_id
            )
            todo = [learner for learner in chunk if learner not in done]
            failures: list[tuple[uuid.UUID, ServiceError]] = []
            made = await TranscriptService(session, ctx.tenant_id, ctx.settings).generate_many(
                todo, options, job_id=ctx.job_id, issued_by=f"job:{ctx.job_id}", failures=failures
            )
            generated += len(made) + len(done)
            partial += sum(1 for item in made if item.transcript.partial)
            for learner_id, exc in failures:
                if len(errors) < 1000:
                    errors.append({"learner_id": str(learner_id), "error": exc.detail})
        position += len(chunk)
        await ctx.progress(
            {"next": position, "total": total, "generated": generated, "partial": partial, "errors": errors}
        )
        await ctx.raise_if_cancelled()
    return {"total": total, "generated": generated, "partial": partial, "errors": errors}
