"""Concurrent issuance on real connections (status indexes never collide, one credential per award),
and issuance through the jobs backend: from awards, and in batches."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable

import pytest
from sqlmodel import col, func, select

from service.awards.models import Award
from service.awards.schemas import AwardDecision
from service.awards.service import AwardService
from service.badges.issuance import CredentialService
from service.badges.models import IssuedCredential
from service.badges.schemas import CredentialBatch, CredentialBatchItem, CredentialIssue
from service.config import Settings
from service.db import Database, declare_write_intent
from service.jobs.backends import InProcessBackend, activate, deactivate
from service.jobs.service import transaction
from tests.badges.helpers import Earned, earn, official_schema_errors
from tests.factories import make_tenant
from tests.jobs.helpers import wait_for_state


def _same_first(index: int) -> Callable[[int], int]:
    """Every issuer draws ``index`` first: all but one must find it taken and draw again."""
    import secrets

    def choose(size: int) -> int:
        if not getattr(choose, "used", False):
            choose.used = True  # type: ignore[attr-defined]
            return index
        return secrets.randbelow(size)

    return choose


async def _eight_awards_warm(db: Database, settings: Settings, env: Settings) -> tuple[uuid.UUID, Earned]:
    """A district with eight awards waiting, whose keys and first status list already exist (their own
    creation is race-safe too, tested below): what the races start from."""
    async with transaction(db) as session:
        tenant = await make_tenant(session, settings)
        earned = await earn(session, tenant.id, learners=8)
        warm = CredentialService(session, tenant.id, env)
        await warm.issue_direct(
            CredentialIssue(achievement_id=earned.achievement_id, learner_id=earned.portrait.learner_ids[0]),
            issued_by="test",
        )
        return tenant.id, earned


@pytest.mark.postgres_only
async def test_concurrent_issuance_never_shares_an_index_and_issues_each_award_once(
    committed_db: Database, settings: Settings
) -> None:
    db, env = committed_db, settings.model_copy(update={"database_url": str(committed_db.url)})
    tenant_id, earned = await _eight_awards_warm(db, settings, env)
    assert len(earned.award_ids) == 8

    async def issue(award_id: uuid.UUID) -> int:
        async with db.session() as session:
            await declare_write_intent(session)
            service = CredentialService(session, tenant_id, env, choose_index=_same_first(4242))
            await service.issue_award(award_id)
            await session.commit()
            return service.collisions

    collisions = await asyncio.gather(*(issue(a) for a in earned.award_ids))
    # Twice more for every award, concurrently: retried jobs must not issue a second credential.
    await asyncio.gather(*(issue(a) for a in earned.award_ids), *(issue(a) for a in earned.award_ids))

    async with db.session() as session:
        rows = (
            await session.exec(select(IssuedCredential).where(col(IssuedCredential.tenant_id) == tenant_id))
        ).all()
        awards = (await session.exec(select(Award).where(col(Award.tenant_id) == tenant_id))).all()
    issued = [r for r in rows if r.award_id is not None]
    assert len(issued) == 8 and len({r.award_id for r in issued}) == 8
    assert len({(r.status_list_id, r.status_index) for r in rows}) == len(rows) == 9
    assert sum(1 for r in issued if r.status_index == 4242) == 1
    assert sum(collisions) >= 7  # the other seven drew the taken index and drew again
    assert all(a.issuance_status == "issued" and a.credential_id is not None for a in awards)
    for r in rows:
        assert json.loads(r.document)["credentialStatus"]["statusListIndex"] == str(r.status_index)


async def test_awards_are_issued_by_the_job_queued_with_them_and_batches_run_as_jobs(
    committed_db: Database, settings: Settings
) -> None:
    db, env = committed_db, settings.model_copy(update={"database_url": str(committed_db.url)})
    async with transaction(db) as session:
        tenant = await make_tenant(session, settings)
        earned = await earn(session, tenant.id, learners=3)
        tenant_id = tenant.id
        batch = await CredentialService(session, tenant.id, env).enqueue_batch(
            CredentialBatch(
                items=[
                    *(
                        CredentialBatchItem(achievement_id=earned.achievement_id, learner_id=learner)
                        for learner in earned.portrait.learner_ids
                    ),
                    CredentialBatchItem(achievement_id=earned.achievement_id, learner_id=uuid.uuid4()),
                ]
            )
        )
        batch_id = batch.id

    async def count(**where: object) -> int:
        async with db.session() as session:
            query = (
                select(func.count())
                .select_from(IssuedCredential)
                .where(col(IssuedCredential.tenant_id) == tenant_id)
            )
            if where.get("awards"):
                query = query.where(col(IssuedCredential.award_id).is_not(None))
            return int((await session.exec(query)).one())

    assert await count() == 0  # nothing is issued inside the request that made the awards
    backend = InProcessBackend(db, env, concurrency=1, tick_interval=3600)
    await backend.start()
    activate(backend)
    try:
        await backend.resume()
        done = await wait_for_state(db, batch_id, "succeeded", "failed")
        assert done.state == "succeeded", done.error
        assert done.report is not None and done.report["issued"] == 3 and done.report["total"] == 4
        assert [e["index"] for e in done.report["errors"]] == [3]

        async def all_awards_issued() -> bool:
            async with db.session() as session:
                waiting = (
                    await session.exec(
                        select(func.count())
                        .select_from(Award)
                        .where(col(Award.tenant_id) == tenant_id, col(Award.issuance_status) != "issued")
                    )
                ).one()
            return int(waiting) == 0

        from tests.jobs.helpers import wait_for

        await wait_for(all_awards_issued, what="award issuance")
        assert await count(awards=True) == 3
        assert await count() == 6

        # Revoking an award revokes its credential (a job queued with the decision).
        async with transaction(db) as session:
            await AwardService(session, tenant_id).decide(
                earned.award_ids[0],
                AwardDecision(decision="revoke", reason="evidence withdrawn"),
                decided_by="t",
            )

        async def credential_revoked() -> IssuedCredential | None:
            async with db.session() as session:
                row = (
                    await session.exec(
                        select(IssuedCredential).where(col(IssuedCredential.award_id) == earned.award_ids[0])
                    )
                ).one()
            return row if row.revoked_at is not None else None

        revoked = await wait_for(credential_revoked, what="credential revocation")
        assert revoked.revocation_reason == "evidence withdrawn"
    finally:
        deactivate(backend)
        await backend.stop()
    async with db.session() as session:
        for row in (await session.exec(select(IssuedCredential))).all():
            assert official_schema_errors(json.loads(row.document)) == []


async def test_issue_waiting_recovers_awards_whose_jobs_never_ran(
    committed_db: Database, settings: Settings
) -> None:
    from service.jobs.models import Job
    from service.jobs.service import JobService

    db, env = committed_db, settings.model_copy(update={"database_url": str(committed_db.url)})
    async with transaction(db) as session:
        tenant = await make_tenant(session, settings)
        earned = await earn(session, tenant.id, learners=3)
        tenant_id = tenant.id
    async with transaction(db) as session:
        jobs = JobService(session, tenant_id)
        queued = (await session.exec(select(Job).where(col(Job.tenant_id) == tenant_id))).all()
        assert {j.kind for j in queued} == {"badges.issue_awards"}
        for job in queued:  # the awards' own jobs are lost
            await jobs.cancel(job.id)
        recovery = await CredentialService(session, tenant_id, env).enqueue_waiting()
        recovery_id = recovery.id
    backend = InProcessBackend(db, env, concurrency=1, tick_interval=3600)
    await backend.start()
    activate(backend)
    try:
        await backend.resume()
        done = await wait_for_state(db, recovery_id, "succeeded", "failed")
        assert done.state == "succeeded", done.error
        assert done.report == {"issued": 3, "failed": []}
    finally:
        deactivate(backend)
        await backend.stop()
    async with db.session() as session:
        awards = (await session.exec(select(Award).where(col(Award.id).in_(earned.award_ids)))).all()
    assert [a.issuance_status for a in awards] == ["issued"] * 3


@pytest.mark.postgres_only
async def test_first_issuances_race_to_create_keys_and_the_list(
    committed_db: Database, settings: Settings
) -> None:
    """A district's first credentials, issued concurrently: one key per kind and one list come out."""
    from service.badges.models import IssuerKey, StatusList

    db, env = committed_db, settings.model_copy(update={"database_url": str(committed_db.url)})
    async with transaction(db) as session:
        tenant = await make_tenant(session, settings)
        earned = await earn(session, tenant.id, learners=6)
        tenant_id = tenant.id

    async def issue(learner_id: uuid.UUID) -> None:
        async with db.session() as session:
            await declare_write_intent(session)
            await CredentialService(session, tenant_id, env).issue_direct(
                CredentialIssue(achievement_id=earned.achievement_id, learner_id=learner_id), issued_by="t"
            )
            await session.commit()

    await asyncio.gather(*(issue(learner) for learner in earned.portrait.learner_ids))
    async with db.session() as session:
        keys = (await session.exec(select(IssuerKey).where(col(IssuerKey.tenant_id) == tenant_id))).all()
        lists = (await session.exec(select(StatusList).where(col(StatusList.tenant_id) == tenant_id))).all()
        rows = (
            await session.exec(select(IssuedCredential).where(col(IssuedCredential.tenant_id) == tenant_id))
        ).all()
    assert sorted(k.fragment for k in keys) == ["ed25519-1", "rsa-1"]
    assert len(lists) == 1 and lists[0].signed is not None
    assert len(rows) == 6 and len({r.status_index for r in rows}) == 6
    signing_methods = {json.loads(r.document)["proof"][0]["verificationMethod"].split("#")[1] for r in rows}
    assert signing_methods == {"ed25519-1"}


@pytest.mark.postgres_only
async def test_bulk_issuance_under_concurrency_issues_each_award_once(
    committed_db: Database, settings: Settings
) -> None:
    """Three jobs issue the same eight awards at once through the bulk path (one INSERT per chunk),
    each drawing the same first index: every award gets exactly one credential, no index is shared,
    and the rows that collided went through the one-by-one path."""
    db, env = committed_db, settings.model_copy(update={"database_url": str(committed_db.url)})
    tenant_id, earned = await _eight_awards_warm(db, settings, env)

    async def issue_all() -> tuple[int, int]:
        async with db.session() as session:
            await declare_write_intent(session)
            service = CredentialService(session, tenant_id, env, choose_index=_same_first(777))
            failures: list[dict[str, str]] = []
            made = await service.issue_awards(earned.award_ids, failures=failures)
            await session.commit()
            assert failures == []
            return made, service.collisions

    outcomes = await asyncio.gather(issue_all(), issue_all(), issue_all())
    assert sum(made for made, _ in outcomes) == 8  # each award issued by exactly one of the jobs

    async with db.session() as session:
        rows = (
            await session.exec(select(IssuedCredential).where(col(IssuedCredential.tenant_id) == tenant_id))
        ).all()
        awards = (await session.exec(select(Award).where(col(Award.tenant_id) == tenant_id))).all()
    issued = [r for r in rows if r.award_id is not None]
    assert len(issued) == 8 and len({r.award_id for r in issued}) == 8
    assert len({(r.status_list_id, r.status_index) for r in rows}) == len(rows) == 9
    assert sum(1 for r in rows if r.status_index == 777) <= 1
    by_award = {r.award_id: r.id for r in issued}
    assert all(a.issuance_status == "issued" and a.credential_id == by_award[a.id] for a in awards)
    for r in issued:
        assert official_schema_errors(json.loads(r.document)) == []
