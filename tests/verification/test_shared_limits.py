"""Rate limits shared between processes: two app instances (two engines, as two worker processes
would have) on one database. On PostgreSQL they spend one bucket per client; on SQLite (one process by
design) each keeps its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from service.app import create_app
from service.config import Settings
from service.db import Database
from service.verification.ratelimit import LocalLimiter, SharedLimiter, make_limiter

CLIENT = ("203.0.113.7", 40000)
BURST = 3


def _settings(settings: Settings, url: str, **limits: object) -> Settings:
    return settings.model_copy(
        update={
            "database_url": url,
            "limits": settings.limits.model_copy(update={"rate_limit_store": "auto", **limits}),
            "verify": settings.verify.model_copy(
                update={"rate_limit_per_minute": 1, "rate_limit_burst": BURST}
            ),
        }
    )


@pytest.fixture
async def two_apps(committed_db: Database, settings: Settings) -> AsyncIterator[tuple[FastAPI, FastAPI, str]]:
    env = _settings(settings, committed_db.url)
    other = Database(committed_db.url, pool_size=2)  # a second process has its own pool
    try:
        yield create_app(env, database=committed_db), create_app(env, database=other), committed_db.dialect
    finally:
        await other.dispose()


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=CLIENT)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_two_app_instances_share_one_bucket_on_postgres(
    two_apps: tuple[FastAPI, FastAPI, str],
) -> None:
    app_a, app_b, dialect = two_apps
    async with _client(app_a) as a, _client(app_b) as b:
        statuses = []
        for client in (a, b, a, b, a, b):
            statuses.append((await client.post("/api/v1/verify", json={"x": 1})).status_code)
        other_ip = httpx.ASGITransport(app=app_b, raise_app_exceptions=False, client=("198.51.100.9", 1))
        async with httpx.AsyncClient(transport=other_ip, base_url="http://testserver") as c:
            elsewhere = (await c.post("/api/v1/verify", json={"x": 1})).status_code
    if dialect == "postgresql":
        # one bucket of 3 for this client, whichever instance answers
        assert statuses == [200, 200, 200, 429, 429, 429]
        assert isinstance(app_a.state.verify_rate_limiter, SharedLimiter)
    else:
        # SQLite: one process by design; each instance keeps its own bucket of 3
        assert statuses == [200] * 6
        assert isinstance(app_a.state.verify_rate_limiter, LocalLimiter)
    assert elsewhere == 200  # another client's bucket is its own


@pytest.mark.postgres_only
async def test_concurrent_takes_across_engines_never_exceed_the_burst(
    committed_db: Database, settings: Settings
) -> None:
    """Forty concurrent takes through two engines: exactly the burst is granted (the upsert's row lock
    serializes them), and the refusals say how long to wait."""
    env = _settings(settings, committed_db.url)
    other = Database(committed_db.url, pool_size=4)
    try:
        first = make_limiter(committed_db_state(committed_db), env, "test", 1, 10, 100)
        second = make_limiter(committed_db_state(other), env, "test", 1, 10, 100)
        assert isinstance(first, SharedLimiter) and isinstance(second, SharedLimiter)
        results = await asyncio.gather(*(limiter.acquire("ip:192.0.2.1") for limiter in [first, second] * 20))
        assert sum(result is None for result in results) == 10
        assert all(result == 60 for result in results if result is not None)
        # another key is untouched; a cost larger than what is left is refused without spending it
        assert await first.acquire("ip:192.0.2.2", 10) is None
        assert await second.acquire("ip:192.0.2.2", 1) == 60
    finally:
        await other.dispose()


class committed_db_state:
    def __init__(self, db: Database) -> None:
        self.db = db


@pytest.mark.postgres_only
async def test_a_debit_takes_a_shared_bucket_below_zero(committed_db: Database, settings: Settings) -> None:
    """Work measured after it was allowed (anonymous GraphQL's CPU time) is taken afterwards, from the
    same row every process reads: down to minus the burst, so the next take waits longer."""
    env = _settings(settings, committed_db.url)
    limiter = make_limiter(committed_db_state(committed_db), env, "test-debit", 6, 10, 100)
    assert isinstance(limiter, SharedLimiter)
    assert await limiter.acquire("ip:192.0.2.3", 4) is None
    await limiter.debit("ip:192.0.2.3", 100)
    wait = await limiter.acquire("ip:192.0.2.3", 1)  # from -10 to 1 at a token every 10 s
    assert wait is not None and 100 < wait <= 110
    await limiter.debit("ip:192.0.2.4", 3)  # a key never seen starts full
    assert await limiter.acquire("ip:192.0.2.4", 7) is None
    assert await limiter.acquire("ip:192.0.2.4", 1) is not None
