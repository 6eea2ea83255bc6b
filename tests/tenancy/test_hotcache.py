"""Cached token checks and signers stay correct: a change committed by another process (another engine
on the same database) invalidates them before the next request uses them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import col, select

from service import hotcache
from service.app import create_app
from service.config import Settings
from service.db import Database
from service.jobs.service import transaction
from service.tenancy.models import ApiClient
from tests.factories import fetch_token, make_client, make_tenant


@pytest.fixture
async def env(committed_db: Database, settings: Settings) -> AsyncIterator[tuple[Database, Settings]]:
    invalidation = hotcache.for_engine(committed_db.engine.sync_engine)
    await invalidation.start()  # what the app's lifespan does (PostgreSQL: LISTEN)
    try:
        yield committed_db, settings.model_copy(update={"database_url": str(committed_db.url)})
    finally:
        await invalidation.stop()


async def _change_elsewhere(url: str, client_id: str, **values: object) -> None:
    """Another process: its own engine, its own caches; the change is committed there."""
    other = Database(url, pool_size=1)
    try:
        async with transaction(other) as session:
            client = (
                await session.exec(select(ApiClient).where(col(ApiClient.client_id) == client_id))
            ).one()
            for name, value in values.items():
                setattr(client, name, value)
            session.add(client)
    finally:
        await other.dispose()


async def _seen(invalidation: hotcache.Invalidation, before: object) -> None:
    """PostgreSQL delivers the NOTIFY to our listener asynchronously: wait for it (not for a time)."""
    if invalidation.backend == "postgresql":
        await asyncio.wait_for(invalidation.notified.wait(), timeout=30)
    assert invalidation.current() != before


@pytest.mark.parametrize(
    ("change", "expected"),
    [({"status": "inactive"}, 401), ({"scopes": ["evidence:read"]}, 403)],
)
async def test_a_cached_grant_is_dropped_when_another_process_changes_the_client(
    env: tuple[Database, Settings], change: dict[str, object], expected: int
) -> None:
    db, settings = env
    async with transaction(db) as session:
        tenant = await make_tenant(session, settings)
        cid, secret = await make_client(session, settings, tenant, ["roster:read", "evidence:read"])
        api_client_id = (
            await session.exec(select(ApiClient.id).where(col(ApiClient.client_id) == cid))
        ).one()
    app = create_app(settings, database=db)
    invalidation = hotcache.for_engine(db.engine.sync_engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://portrait.test") as http:
        token = await fetch_token(http, cid, secret)
        headers = {"Authorization": f"Bearer {token}"}
        assert (await http.get("/api/v1/learners", headers=headers)).status_code == 200
        # The grant is cached now (so this test proves something about the cache)...
        assert invalidation.get("token_state", api_client_id) is not None
        assert (await http.get("/api/v1/learners", headers=headers)).status_code == 200
        before = invalidation.current()
        invalidation.notified.clear()
        await _change_elsewhere(str(db.url), cid, **change)
        await _seen(invalidation, before)
        # ...and the next request re-reads the client: disabled -> 401, scope taken away -> 403.
        assert invalidation.get("token_state", api_client_id) is None
        denied = await http.get("/api/v1/learners", headers=headers)
        assert denied.status_code == expected, denied.text


async def test_a_cached_signer_follows_key_rotation(env: tuple[Database, Settings]) -> None:
    db, settings = env
    async with transaction(db) as session:
        tenant = await make_tenant(session, settings)
        cid, secret = await make_client(session, settings, tenant, ["credentials:write", "credentials:read"])
    app = create_app(
        settings.model_copy(update={"badges": settings.badges.model_copy(update={"signing_processes": 0})}),
        database=db,
    )
    transport = httpx.ASGITransport(app=app)
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": f"urn:uuid:{uuid.uuid4()}"},
    }
    url = f"/vc-api/issuers/{tenant.slug}/credentials/issue"
    async with httpx.AsyncClient(transport=transport, base_url="https://portrait.test") as http:
        headers = {"Authorization": f"Bearer {await fetch_token(http, cid, secret)}"}
        methods = []
        for _ in range(2):
            response = await http.post(url, json={"credential": credential}, headers=headers)
            assert response.status_code == 201, response.text
            methods.append(response.json()["verifiableCredential"]["proof"][0]["verificationMethod"])
        assert methods[0] == methods[1] and methods[0].endswith("#ed25519-1")
        rotated = await http.post("/api/v1/issuer/keys/rotate", json={"kinds": ["Ed25519"]}, headers=headers)
        assert rotated.status_code == 200, rotated.text
        after = await http.post(url, json={"credential": credential}, headers=headers)
        assert after.status_code == 201, after.text
        method = after.json()["verifiableCredential"]["proof"][0]["verificationMethod"]
        assert method != methods[0], "the signer cache kept the retired key"


async def test_behind_a_transaction_pooler_caches_listen_directly_or_stay_off(
    committed_db: Database,
) -> None:
    """Behind PgBouncer in transaction mode a LISTEN on the pooled URL hears nothing: with a direct
    listen URL the caches listen there; without one they are off (every request reads), never stale."""
    url = str(committed_db.url)
    off = hotcache.Invalidation(url)
    off.listen_through(pgbouncer=True, listen_url="")
    direct = hotcache.Invalidation(url)
    direct.listen_through(pgbouncer=True, listen_url=url)
    plain = hotcache.Invalidation(url)
    plain.listen_through(pgbouncer=False, listen_url="")
    try:
        for invalidation in (off, direct, plain):
            await invalidation.start()
        if off.backend == "postgresql":
            assert off.current() is None and off.enabled is False
            assert direct.current() is not None and plain.current() is not None
        else:  # SQLite has no pooler: the setting changes nothing
            assert off.current() is not None and off.enabled is True
    finally:
        for invalidation in (off, direct, plain):
            await invalidation.stop()
