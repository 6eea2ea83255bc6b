"""The VC-JWT form is signed on its first request and stored exactly once, even when the first
requests come concurrently (separate sessions on a database whose transactions really commit)."""

from __future__ import annotations

import asyncio
import uuid

from sqlmodel import col, select

from service.awards.schemas import AchievementCreate
from service.awards.service import AwardService
from service.badges.issuance import CredentialService
from service.badges.models import IssuedCredential
from service.badges.schemas import CredentialIssue
from service.config import Settings
from service.credentials import parse_vc_jwt
from service.db import Database
from service.jobs.service import transaction
from tests.factories import make_portrait, make_tenant


async def _issued(db: Database, settings: Settings) -> tuple[uuid.UUID, uuid.UUID]:
    async with transaction(db) as session:
        tenant = await make_tenant(session, settings)
        portrait = await make_portrait(session, tenant.id, competencies=1, learners=1, classes=1)
        achievement = await AwardService(session, tenant.id).create_achievement(
            AchievementCreate(
                title="Reader", description="Reads.", criteria="Reads a book.", award_mode="manual"
            )
        )
        row, created = await CredentialService(session, tenant.id, settings).issue_direct(
            CredentialIssue(achievement_id=achievement.id, learner_id=portrait.learner_ids[0]),
            issued_by="test",
        )
        assert created and row.jwt is None
        return tenant.id, row.id


async def test_concurrent_first_requests_store_one_token(committed_db: Database, settings: Settings) -> None:
    env = settings.model_copy(update={"database_url": str(committed_db.url)})
    tenant_id, credential_id = await _issued(committed_db, env)
    loaded: list[asyncio.Event] = [asyncio.Event(), asyncio.Event()]

    async def first_request(me: int) -> tuple[str, bool]:
        # Like a GET request: a plain session (no declared write intent) committed at the end.
        async with committed_db.session() as session:
            service = CredentialService(session, tenant_id, env)
            row = await service.get(credential_id)
            assert row.jwt is None
            loaded[me].set()
            await loaded[1 - me].wait()  # both have read the row without a token before either signs
            token = await service.jwt(row)
            stored = service.jwt_stored
            await session.commit()
            return token, stored

    results = await asyncio.gather(first_request(0), first_request(1))
    assert sorted(stored for _, stored in results) == [False, True]  # exactly one wrote
    async with committed_db.session() as session:
        kept = (
            await session.exec(select(IssuedCredential.jwt).where(col(IssuedCredential.id) == credential_id))
        ).one()
    assert kept is not None and all(token == kept for token, _ in results)
    parsed = parse_vc_jwt(kept)
    assert parsed.header["alg"] == "RS256" and parsed.credential["id"].endswith(str(credential_id))
    assert "proof" not in parsed.credential
