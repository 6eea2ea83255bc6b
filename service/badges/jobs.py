"""Issuance jobs: the credentials of new awards, batch issuance requested through the API, and the
revocation of a revoked award's credential.

All are resumable and idempotent as the job framework requires. Awards: 50 awards per transaction,
stored together (a failing award is reported in the job's report, the others go on); an award
already issued is skipped (unique credential per award, and only ``waiting`` awards are read). Batches:
item ``i`` of job ``J`` carries the idempotency key ``J:i`` (unique per tenant), so a resumed job never
issues an item twice; the resume point is the next item index.
"""

from __future__ import annotations

import uuid
from typing import Any

from service.badges.issuance import ISSUE_AWARDS_KIND, ISSUE_BATCH_KIND, REVOKE_AWARD_KIND, CredentialService
from service.badges.repository import BadgeRepository
from service.badges.schemas import CredentialBatchItem, CredentialIssue
from service.errors import ServiceError
from service.jobs.registry import JobContext, register

CHUNK = 50


async def _issue_each(ctx: JobContext, award_ids: list[uuid.UUID], failed: list[dict[str, str]]) -> int:
    """``CHUNK`` awards per transaction, stored together: a failing award is reported, not fatal."""
    issued = 0
    for start in range(0, len(award_ids), CHUNK):
        async with ctx.transaction() as session:
            service = CredentialService(session, ctx.tenant_id, ctx.settings)
            issued += await service.issue_awards(award_ids[start : start + CHUNK], failures=failed)
    return issued


@register(ISSUE_AWARDS_KIND)
async def issue_awards(ctx: JobContext) -> dict[str, Any]:
    """``award_ids``: the awards a transaction made; ``all_waiting``: every awarded award of the
    district still waiting for its credential (recovery), in id order with a resume point."""
    issued = int(ctx.last_progress.get("issued", 0))
    failed: list[dict[str, str]] = list(ctx.last_progress.get("failed", []))
    if not ctx.params.get("all_waiting"):
        issued += await _issue_each(ctx, [uuid.UUID(a) for a in ctx.params.get("award_ids", [])], failed)
        await ctx.progress({"issued": issued, "failed": failed})
        return {"issued": issued, "failed": failed}
    after_value = ctx.last_progress.get("after")
    after = uuid.UUID(after_value) if after_value else None
    while True:
        async with ctx.session() as session:
            page = await BadgeRepository(session, ctx.tenant_id).awarded_waiting_page(after, 200)
        if not page:
            break
        issued += await _issue_each(ctx, page, failed)
        after = page[-1]
        await ctx.progress({"after": str(after), "issued": issued, "failed": failed})
        await ctx.raise_if_cancelled()
    return {"issued": issued, "failed": failed}


@register(ISSUE_BATCH_KIND)
async def issue_batch(ctx: JobContext) -> dict[str, Any]:
    items = [CredentialBatchItem.model_validate(item) for item in ctx.params.get("items", [])]
    position = int(ctx.last_progress.get("next", 0))
    issued = int(ctx.last_progress.get("issued", 0))
    errors: list[dict[str, Any]] = list(ctx.last_progress.get("errors", []))
    while position < len(items):
        chunk = items[position : position + CHUNK]
        async with ctx.transaction() as session:
            service = CredentialService(session, ctx.tenant_id, ctx.settings)
            failures: list[tuple[int, ServiceError]] = []
            issued += await service.issue_direct_many(
                [
                    (CredentialIssue(**item.model_dump()), f"{ctx.job_id}:{position + offset}")
                    for offset, item in enumerate(chunk)
                ],
                issued_by=f"job:{ctx.job_id}",
                failures=failures,
            )
            for offset, exc in failures:
                if len(errors) < 1000:
                    errors.append({"index": position + offset, "error": exc.detail})
        position += len(chunk)
        await ctx.progress({"next": position, "issued": issued, "errors": errors, "total": len(items)})
        await ctx.raise_if_cancelled()
    return {"issued": issued, "errors": errors, "total": len(items)}


@register(REVOKE_AWARD_KIND)
async def revoke_award(ctx: JobContext) -> dict[str, Any]:
    award_id = uuid.UUID(ctx.params["award_id"])
    async with ctx.transaction() as session:
        row = await CredentialService(session, ctx.tenant_id, ctx.settings).revoke_award(
            award_id, str(ctx.params.get("reason") or "the award was revoked")[:2000]
        )
    return {"award_id": str(award_id), "revoked": str(row.id) if row is not None else None}
