"""The VC-JWT form is signed on its first request and stored exactly once, even when the first
requests come concurrently (separate sessions on a database whose transactions really commit)."""

from __future__ import annotations

import asyncio
import uuid

from sqlmodel import col, select, update

from service.awards.schemas import AchievementCreate
from service.awards.service import AwardService
from service.badges.issuance import CredentialService
from service.badges.models import IssuedCredential
from service.badges.schemas import CredentialIssue
from service.config import Settings
from service.credentials import parse_vc_jwt
from service.db import Database, run_after_commit
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


async def test_token_not_stored_in_the_request_is_stored_after_it(
    committed_db: Database, settings: Settings
) -> None:
    """A first request whose read transaction cannot write (SQLite: another connection committed since
    its snapshot began) returns its token and stores it right after its own commit, so the second
    request returns the same token, read back from the row."""
    env = settings.model_copy(update={"database_url": str(committed_db.url)})
    tenant_id, credential_id = await _issued(committed_db, env)
    async with transaction(committed_db) as session:  # the RSA key exists before (made on first need)
        await CredentialService(session, tenant_id, env).issuers.signer("RSA")

    async with committed_db.session() as session:  # like a GET request: a deferred read transaction
        service = CredentialService(session, tenant_id, env)
        row = await service.get(credential_id)  # the read snapshot starts here
        async with transaction(committed_db) as other:  # someone else commits a write meanwhile
            await other.execute(
                update(IssuedCredential)
                .where(col(IssuedCredential.id) == credential_id)
                .values(issued_by="another writer")
            )
        token = await service.jwt(row)
        # SQLite refuses the read transaction's upgrade to a write; PostgreSQL just writes.
        assert service.jwt_stored is (committed_db.engine.dialect.name != "sqlite")
        await session.commit()
        await run_after_commit(session)

    async with committed_db.session() as session:
        kept = (
            await session.exec(select(IssuedCredential.jwt).where(col(IssuedCredential.id) == credential_id))
        ).one()
        assert kept == token
        second = CredentialService(session, tenant_id, env)
        assert await second.jwt(await second.get(credential_id)) == token
        assert not second.jwt_stored  # read back, not signed and stored again
