"""Test fixtures: real databases (SQLite file, and PostgreSQL when PORTRAIT_TEST_POSTGRES_URL is set),
one transaction per test rolled back at the end, the real app over httpx's ASGI transport.

Every test that uses ``db`` (directly or through ``session``/``http``) runs once per backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel.ext.asyncio.session import AsyncSession

from service.api.deps import ROLLBACK_ONLY, get_session
from service.api.graphql.router import ProblemGraphQLRouter, graphql_router
from service.app import create_app
from service.config import LimitSettings, Settings
from service.db import Database, create_engine, discard_after_commit, run_after_commit
from service.migrations import upgrade_sync
from tests.factories import Actors

POSTGRES_URL = os.environ.get("PORTRAIT_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", *(["postgres"] if POSTGRES_URL else [])]
#: Conformance data (official schemas, contexts, test vectors, samples), vendored: see conformance/README.md.
CONFORMANCE = Path(__file__).resolve().parent / "conformance"


def postgres_admin_url() -> str:
    return str(make_url(POSTGRES_URL).set(database="postgres"))


async def reset_postgres(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def create_scratch_postgres(template: str | None = None, name: str | None = None) -> str:
    """A new PostgreSQL database for tests that need their own (migrations, concurrency): empty, or a
    copy of ``template`` (``CREATE DATABASE ... TEMPLATE``, a file copy on the server)."""
    name = name or f"portrait_scratch_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    engine = create_engine(postgres_admin_url(), pool_size=1)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    await engine.dispose()
    return str(make_url(POSTGRES_URL).set(database=name))


async def drop_scratch_postgres(url: str) -> None:
    name = make_url(url).database
    engine = create_engine(postgres_admin_url(), pool_size=1)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres_only`` exist only in their PostgreSQL variant (deselected, not skipped)."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_sqlite = callspec is not None and callspec.params.get("backend") == "sqlite"
        (drop if on_sqlite and item.get_closest_marker("postgres_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def scratch_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the current backend, not migrated, dropped after the test."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{(tmp_path / 'scratch.db').as_posix()}"
        return
    url = asyncio.run(create_scratch_postgres())
    try:
        yield url
    finally:
        asyncio.run(drop_scratch_postgres(url))


def xdist_worker() -> str:
    """``gw0``, ``gw1``... under pytest-xdist (each worker has databases of its own), else ``""``."""
    return os.environ.get("PYTEST_XDIST_WORKER", "")


@pytest.fixture(scope="session")
def migrated_template(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of the current backend migrated to head once per session (a SQLite file's path or a
    PostgreSQL database's name): ``migrated_url`` copies it instead of running every migration per test."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        upgrade_sync(f"sqlite+aiosqlite:///{path.as_posix()}")
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the one file that is copied
        yield str(path)
        return
    worker = xdist_worker()
    name = f"{make_url(POSTGRES_URL).database}_template{'_' + worker if worker else ''}"
    url = asyncio.run(create_scratch_postgres(name=name))
    try:
        upgrade_sync(url)  # its engine is disposed: a template must have no connection when copied
        yield name
    finally:
        asyncio.run(drop_scratch_postgres(url))


@pytest.fixture
def migrated_url(backend: str, migrated_template: str, tmp_path: Path) -> Iterator[str]:
    """A database of the current backend at the head revision, the test's own (a copy of the session's
    migrated template: the same schema ``upgrade_sync`` makes), dropped after the test."""
    if backend == "sqlite":
        path = tmp_path / "scratch.db"
        shutil.copyfile(migrated_template, path)
        yield f"sqlite+aiosqlite:///{path.as_posix()}"
        return
    url = asyncio.run(create_scratch_postgres(template=migrated_template))
    try:
        yield url
    finally:
        asyncio.run(drop_scratch_postgres(url))


@pytest.fixture
async def committed_db(migrated_url: str) -> AsyncIterator[Database]:
    """A migrated scratch database whose transactions really commit (concurrency, jobs, the demo)."""
    db = Database(migrated_url, pool_size=12)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.db"
        url = f"sqlite+aiosqlite:///{path.as_posix()}"
    else:
        url = POSTGRES_URL
        asyncio.run(reset_postgres(url))
    upgrade_sync(url)
    yield url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        var_dir=tmp_path_factory.mktemp("var"),
        database_url=database_url,
        token_secret=SecretStr("t" * 48),
        key_encryption_key=SecretStr("k" * 48),
        auto_migrate=False,
        public_url="https://portrait.test",
        # Each test's app keeps its own buckets (tests must not share a budget through the database);
        # tests/verification/test_shared_limits.py covers the shared store.
        # The introspection process starts when a test introspects, not with every test app.
        limits=LimitSettings(rate_limit_store="memory", graphql_introspection_process="on_first_use"),
    )


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url, pool_size=5)
    yield database
    await database.dispose()


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    """A session inside an outer transaction that is rolled back after the test.

    Commits by the code under test only release SAVEPOINTs, so nothing leaks between tests.
    """
    async with db.engine.connect() as conn:
        outer = await conn.begin()
        async with AsyncSession(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False, autoflush=False
        ) as sess:
            yield sess
        if outer.is_active:
            await outer.rollback()


#: What a request may leave on the GraphQL router of an app (service.api.graphql.router): the anonymous cost
#: budgets and the clients refused until their Retry-After, the thread limiter, the introspection and check
#: caches. Each test's app starts without them.
GRAPHQL_ROUTER_STATE = ("_budgets", "_threads", "introspection_cache", "checks", "_refused")


@pytest.fixture(scope="session")
def shared_app(settings: Settings, db: Database) -> FastAPI:
    """The application of the session's settings and database, built once per backend.

    FastAPI (0.163) builds an app's route state (dependants, the pydantic adapters of ~200 routes) on its
    first requests: 0.3-0.7 CPU seconds per app, which per test was the largest single cost of the suite.
    ``app`` hands this one app to every test, with what a test can leave on it put back afterwards."""
    return create_app(settings, database=db)


def graphql_routers(application: FastAPI) -> list[ProblemGraphQLRouter]:
    return [
        route.original_router
        for route in application.router.routes
        if isinstance(getattr(route, "original_router", None), ProblemGraphQLRouter)
    ]


@pytest.fixture
def app(shared_app: FastAPI, session: AsyncSession) -> Iterator[FastAPI]:
    """The session's application, as if new: after the test its state (settings, rate limiters, services
    made on first use), dependency overrides and GraphQL router state are what they were before."""
    application = shared_app
    state = dict(application.state._state)
    overrides = dict(application.dependency_overrides)
    routers = graphql_routers(application)
    assert routers, "the app has no GraphQL router: update graphql_routers()"
    fresh = [{name: getattr(graphql_router(), name) for name in GRAPHQL_ROUTER_STATE} for _ in routers]
    for router, values in zip(routers, fresh, strict=True):
        for name, value in values.items():
            assert hasattr(router, name), f"the GraphQL router has no {name}: update GRAPHQL_ROUTER_STATE"
            setattr(router, name, value)

    async def test_session(request: Request) -> AsyncIterator[AsyncSession]:
        # Takes the request like get_session: GraphQL's session dependency calls it with one.
        # Same contract as service.api.deps.get_session, on the test's transaction.
        try:
            yield session
        except BaseException:
            discard_after_commit(session)
            await session.rollback()
            raise
        if session.info.pop(ROLLBACK_ONLY, False):
            discard_after_commit(session)
            await session.rollback()
        else:
            await session.commit()
            await run_after_commit(session)

    application.dependency_overrides[get_session] = test_session
    try:
        yield application
    finally:
        application.state._state.clear()
        application.state._state.update(state)
        application.dependency_overrides.clear()
        application.dependency_overrides.update(overrides)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def actors(session: AsyncSession, settings: Settings, http: httpx.AsyncClient) -> Actors:
    """Two districts with helpers to mint tokens of any scopes for either."""
    return await Actors.create(session, settings, http)
