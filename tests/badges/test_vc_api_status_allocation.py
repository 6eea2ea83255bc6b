"""VC-API issuance with ``options.credentialStatus`` on real connections: a warm process takes a status
index without reading the list or counting its entries (service.badges.status_lists._Fill), a collision
makes it count again, and two processes issuing at once never give an index twice."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from sqlalchemy import event
from sqlmodel import col, select

from service import hotcache
from service.badges import group_commit
from service.badges.models import IssuedCredential
from service.badges.vc_api import VcApiIssuer
from service.config import Settings
from service.db import Database
from service.jobs.service import transaction
from tests.factories import make_tenant


def _plain(n: int) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": f"did:example:learner-{n}"},
    }


@pytest.fixture
async def listening(committed_db: Database) -> AsyncIterator[Database]:
    """The database with its invalidation started, as the app's lifespan does (PostgreSQL: LISTEN)."""
    invalidation = hotcache.for_engine(committed_db.engine.sync_engine)
    await invalidation.start()
    try:
        yield committed_db
    finally:
        await invalidation.stop()


async def _district(db: Database, settings: Settings) -> uuid.UUID:
    async with transaction(db) as session:
        return (await make_tenant(session, settings)).id


async def _issue(
    db: Database, tenant_id: uuid.UUID, env: Settings, n: int, choose: Callable[[int], int] | None = None
) -> int:
    """One request's work, in a session like a POST request's (it declares its write intent with its
    first statement: a request whose reads are all cached has no transaction when it stores)."""
    factory = db.write_sessionmaker()
    assert factory is not None
    async with factory() as session:
        issuer = VcApiIssuer(session, tenant_id, env)
        if choose is not None:
            issuer.choose_index = choose
        signed = await issuer.issue(
            _plain(n), method="did:web", created=None, status_purpose="revocation", issued_by="test"
        )
        await session.commit()
    document = orjson.loads(signed)
    assert document["credentialSubject"]["id"] == f"did:example:learner-{n}"
    return int(document["credentialStatus"]["statusListIndex"])


@contextmanager
def _statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()).lower())

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def test_a_warm_process_takes_an_index_with_the_insert_alone_and_counts_again_after_a_collision(
    listening: Database, settings: Settings
) -> None:
    db = listening
    env = settings.model_copy(update={"database_url": str(db.url)})
    tenant_id = await _district(db, settings)
    first = await _issue(db, tenant_id, env, 1)  # creates the keys and the first list
    await _issue(db, tenant_id, env, 2)  # counts the list's entries once

    writer = group_commit.writer(db.write_sessionmaker().kw["bind"])  # type: ignore[union-attr]
    groups = writer.groups
    with _statements(db) as seen:
        third = await _issue(db, tenant_id, env, 3)
    work = [s for s in seen if not s.startswith(("begin", "commit", "rollback", "savepoint", "release"))]
    assert len(work) == 1 and work[0].startswith("insert into issued_credentials"), seen
    assert writer.groups == groups + 1  # stored by the group writer, alone (one request in flight)

    # The next request draws the index taken first: the INSERT inserts nothing, it draws again, and
    # the list's entries are counted again (another process may have filled it meanwhile).
    draws = iter([first])
    with _statements(db) as seen:
        fourth = await _issue(db, tenant_id, env, 4, choose=lambda size: next(draws, secrets.randbelow(size)))
    assert fourth not in (first, third)
    assert sum(s.startswith("insert into issued_credentials") for s in seen) == 2, seen
    assert any("count(" in s for s in seen), seen

    async with db.session() as session:
        rows = (
            await session.exec(select(IssuedCredential).where(col(IssuedCredential.tenant_id) == tenant_id))
        ).all()
    assert len(rows) == 4 and len({r.status_index for r in rows}) == 4
    for row in rows:
        assert orjson.loads(row.document)["credentialStatus"]["statusListIndex"] == str(row.status_index)


@pytest.mark.postgres_only
async def test_two_processes_issuing_at_once_never_give_an_index_twice(
    listening: Database, settings: Settings
) -> None:
    """Two engines stand for two API processes (each has its own hot caches). Indexes are drawn from
    64 only, so that draws collide all the time: each credential still gets its own index."""
    one = listening
    other = Database(str(one.url), pool_size=12)
    await hotcache.for_engine(other.engine.sync_engine).start()
    try:
        env = settings.model_copy(update={"database_url": str(one.url)})
        tenant_id = await _district(one, settings)
        await _issue(one, tenant_id, env, 0)
        await _issue(other, tenant_id, env, 1)

        def narrow(_size: int) -> int:
            return secrets.randbelow(64)

        indexes = await asyncio.gather(
            *(_issue(one if n % 2 else other, tenant_id, env, n, choose=narrow) for n in range(2, 42))
        )
        async with one.session() as session:
            rows = (
                await session.exec(
                    select(IssuedCredential).where(col(IssuedCredential.tenant_id) == tenant_id)
                )
            ).all()
        assert len(rows) == 42
        assert len({(r.status_list_id, r.status_index) for r in rows}) == 42
        assert len(set(indexes)) == 40 and all(0 <= i < 64 for i in indexes)
        for row in rows:
            status = orjson.loads(row.document)["credentialStatus"]
            assert status["statusListIndex"] == str(row.status_index)
    finally:
        await hotcache.for_engine(other.engine.sync_engine).stop()
        await other.dispose()


async def test_rows_queued_together_are_written_in_one_transaction_and_fail_alone(
    listening: Database, settings: Settings
) -> None:
    """Rows queued while the writer is busy (here: in the same turn of the event loop) go in one
    INSERT; a row whose index is taken answers False (its request draws again) and a row that cannot
    be written at all (an unknown status list) fails its own request only."""
    db = listening
    env = settings.model_copy(update={"database_url": str(db.url)})
    tenant_id = await _district(db, settings)
    taken = await _issue(db, tenant_id, env, 0)
    async with db.session() as session:
        first = (
            await session.exec(select(IssuedCredential).where(col(IssuedCredential.tenant_id) == tenant_id))
        ).one()

    def row(index: int, status_list_id: uuid.UUID = first.status_list_id) -> dict[str, Any]:
        return {
            **first.model_dump(exclude={"award_id", "source_key"}),
            "id": uuid.uuid4(),
            "status_list_id": status_list_id,
            "status_index": index,
        }

    fresh = sorted({(taken + k) % 131_072 for k in range(1, 6)})
    rows = [row(i) for i in fresh] + [row(taken), row(7, status_list_id=uuid.uuid4())]
    writer = group_commit.writer(db.write_sessionmaker().kw["bind"])  # type: ignore[union-attr]
    groups, written = writer.groups, writer.rows
    outcomes = await asyncio.gather(*(writer.insert(r) for r in rows), return_exceptions=True)

    assert outcomes[:5] == [True] * 5 and outcomes[5] is False
    assert isinstance(outcomes[6], Exception)
    # One group of seven failed (the unknown list), then each row alone: six transactions that wrote.
    assert (writer.groups - groups, writer.rows - written) == (6, 6)
    async with db.session() as session:
        stored = (
            await session.exec(select(IssuedCredential).where(col(IssuedCredential.tenant_id) == tenant_id))
        ).all()
    assert sorted(r.status_index for r in stored) == sorted([taken, *fresh])
