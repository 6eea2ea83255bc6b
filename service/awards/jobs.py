"""The tenant-wide batch evaluation job: every learner against every active rule (or one achievement's).

Resumable and idempotent as the job framework requires: learners are taken in id order in pages, each
page in its own transaction, and the last learner id done is the persisted resume point. Re-evaluating a
learner who already has an award changes nothing (one award per learner and achievement).
"""

from __future__ import annotations

import uuid
from typing import Any

from service.awards.repository import AwardRepository
from service.awards.service import EVALUATE_KIND, AwardService
from service.jobs.registry import JobContext, register

PAGE = 200


@register(EVALUATE_KIND)
async def evaluate_tenant(ctx: JobContext) -> dict[str, Any]:
    achievement = ctx.params.get("achievement_id")
    achievement_id = uuid.UUID(achievement) if achievement else None
    after_value = ctx.last_progress.get("after")
    after = uuid.UUID(after_value) if after_value else None
    learners = int(ctx.last_progress.get("learners", 0))
    created = int(ctx.last_progress.get("awards_created", 0))
    while True:
        async with ctx.transaction() as session:
            page = await AwardRepository(session, ctx.tenant_id).learner_page(after, PAGE)
            if not page:
                break
            created += await AwardService(session, ctx.tenant_id).evaluate_learners(
                page, achievement_id=achievement_id
            )
        after = page[-1]
        learners += len(page)
        await ctx.progress({"after": str(after), "learners": learners, "awards_created": created})
        await ctx.raise_if_cancelled()
    return {"learners": learners, "awards_created": created}
