"""Cheap reads (issue 17): routes marked read-only run without a transaction on PostgreSQL and refuse any
write; a page of learners (rows, total, org ids) is one statement; the pool keeps the connections it
opens. On a committed database through the real session dependency (not the tests' shared session)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import event, insert, text
from sqlmodel import select

from service import hotcache
from service.app import create_app
from service.config import Settings
from service.db import Database, ReadOnlySessionWrite
from service.jobs.service import transaction
from service.roster.models import Org, Person
from service.roster.schemas import OrgCreate, PersonCreate
from service.roster.service import RosterService
from tests.factories import fetch_token, make_client, make_tenant


@pytest.fixture
async def env(committed_db: Database, settings: Settings) -> AsyncIterator[tuple[Database, Settings]]:
    invalidation = hotcache.for_engine(committed_db.engine.sync_engine)
    await invalidation.start()
    try:
        yield committed_db, settings.model_copy(update={"database_url": str(committed_db.url)})
    finally:
        await invalidation.stop()


def _statements(db: Database) -> list[str]:
    seen: list[str] = []

    @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def _record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's read transaction
            seen.append(statement)

    return seen


async def test_learner_reads_on_a_committed_database(env: tuple[Database, Settings]) -> None:
    db, settings = env
    async with transaction(db) as session:
        mine = await make_tenant(session, settings)
        other = await make_tenant(session, settings)
        roster = RosterService(session, mine.id)
        school = await roster.create_org(OrgCreate(name="North High", type="school"))
        office = await roster.create_org(OrgCreate(name="District office", type="district"))
        people = [
            await roster.create_person(
                PersonCreate(
                    role="student",
                    given_name=f"Ana{n}",
                    family_name=f"Garcia{n:02d}",
                    grades=["09"],
                    org_ids=[school.id, office.id] if n % 2 else [],
                )
            )
            for n in range(7)
        ]
        teacher = await roster.create_person(PersonCreate(role="teacher", given_name="T", family_name="Aa"))
        foreign = await RosterService(session, other.id).create_person(
            PersonCreate(role="student", given_name="Zed", family_name="Other")
        )
        cid, secret = await make_client(session, settings, mine, ["roster:read"])
    app = create_app(settings, database=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://portrait.test"
    ) as http:
        headers = {"Authorization": f"Bearer {await fetch_token(http, cid, secret)}"}
        await http.get("/api/v1/learners", headers=headers)  # the token check cached
        seen = _statements(db)
        page = await http.get("/api/v1/learners", params={"limit": 3, "offset": 1}, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        assert (body["total"], body["total_exact"], body["limit"], body["offset"]) == (7, True, 3, 1)
        assert [item["family_name"] for item in body["items"]] == ["Garcia01", "Garcia02", "Garcia03"]
        first = body["items"][0]
        assert first["org_ids"] == [str(school.id), str(office.id)]  # primary first, each once
        assert body["items"][1]["org_ids"] == []
        assert first["grades"] == ["09"] and first["created_at"].endswith("Z")
        # One statement, and no BEGIN/COMMIT on PostgreSQL (asyncpg sends those outside the cursor
        # events, so the statement count is the same on both; the guard below proves the mode).
        assert len(seen) == 1, seen
        seen.clear()

        one = await http.get(f"/api/v1/learners/{people[1].id}", headers=headers)
        assert one.status_code == 200 and one.json()["org_ids"] == [str(school.id), str(office.id)]
        assert one.json() == next(i for i in body["items"] if i["id"] == str(people[1].id))
        assert len(seen) == 1, seen
        # Another district's learner, and a teacher, are not learners of this district.
        for missing in (foreign.id, teacher.id, uuid.uuid4()):
            answer = await http.get(f"/api/v1/learners/{missing}", headers=headers)
            assert answer.status_code == 404 and "learner" in answer.json()["detail"]
        # Past the end: no rows, the total still counted.
        past = (await http.get("/api/v1/learners", params={"offset": 50}, headers=headers)).json()
        assert (past["items"], past["total"]) == ([], 7)
        # Filters still apply (each combination is its own cached statement).
        found = (await http.get("/api/v1/learners", params={"q": "garcia03"}, headers=headers)).json()
        assert [i["family_name"] for i in found["items"]] == ["Garcia03"] and found["total"] == 1
        at_school = (
            await http.get("/api/v1/learners", params={"school_id": str(school.id)}, headers=headers)
        ).json()
        assert at_school["total"] == 3
        none = (await http.get("/api/v1/learners", params={"q": "nobody"}, headers=headers)).json()
        assert (none["items"], none["total"]) == ([], 0)
        # The people routes (any role) read the same way.
        everyone = (await http.get("/api/v1/people", params={"limit": 2}, headers=headers)).json()
        assert everyone["total"] == 8 and everyone["items"][0]["id"] == str(teacher.id)
        staff = await http.get(f"/api/v1/people/{teacher.id}", headers=headers)
        assert staff.status_code == 200 and staff.json()["role"] == "teacher"
        assert (await http.get(f"/api/v1/people/{foreign.id}", headers=headers)).status_code == 404


async def test_a_read_only_session_runs_without_a_transaction_and_refuses_writes(
    env: tuple[Database, Settings],
) -> None:
    db, _settings = env
    maker = db.read_sessionmaker()
    if db.dialect != "postgresql":
        assert maker is None  # SQLite keeps its read transaction
        return
    assert maker is not None
    async with maker() as session:
        # Outside a transaction block: asyncpg reports the server's transaction status.
        connection = await session.connection()
        await connection.execute(text("SELECT 1"))
        raw = await connection.get_raw_connection()
        assert raw.driver_connection.is_in_transaction() is False  # type: ignore[union-attr]
    async with db.sessionmaker() as session:  # an ordinary session, for contrast
        connection = await session.connection()
        await connection.execute(text("SELECT 1"))
        raw = await connection.get_raw_connection()
        assert raw.driver_connection.is_in_transaction() is True  # type: ignore[union-attr]
    async with maker() as session:
        tenant_id = uuid.uuid4()
        with pytest.raises(ReadOnlySessionWrite):
            await session.execute(insert(Org).values(tenant_id=tenant_id, name="x", type="school"))
        session.add(Person(tenant_id=tenant_id, role="student", given_name="a", family_name="b"))
        with pytest.raises(ReadOnlySessionWrite):
            await session.flush()
    async with transaction(db) as session:
        assert (await session.exec(select(Org).where(Org.tenant_id == tenant_id))).first() is None


@pytest.mark.postgres_only  # SQLite has no connection pool size
async def test_the_pool_keeps_every_connection_it_opens(committed_db: Database) -> None:
    """Up to twice the configured size at once (as before: size + overflow), and none closed on return."""
    pool = committed_db.engine.sync_engine.pool
    assert pool.size() == 24  # type: ignore[attr-defined]  # pool_size=12 in the fixture
    opened: list[object] = []

    @event.listens_for(committed_db.engine.sync_engine, "connect")
    def _count(*_args: object) -> None:
        opened.append(1)

    async def hold(ready: asyncio.Event, release: asyncio.Event, held: list[int]) -> None:
        async with committed_db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            held.append(1)
            if len(held) == 20:
                ready.set()
            await release.wait()

    for _ in range(2):
        ready, release, held = asyncio.Event(), asyncio.Event(), []
        tasks = [asyncio.create_task(hold(ready, release, held)) for _ in range(20)]
        await ready.wait()
        assert pool.checkedout() == 20
        release.set()
        await asyncio.gather(*tasks)
    # The second burst reused the first burst's connections.
    assert pool.checkedin() >= 20
    assert len(opened) <= 20
