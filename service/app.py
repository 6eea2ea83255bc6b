"""Application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from service import __version__, gctune, hotcache
from service.api.graphql.router import graphql_router, start_introspection
from service.api.middleware import RequestMiddleware
from service.api.openapi import install_openapi
from service.api.problems import install_handlers
from service.api.rest import (
    awards,
    classes,
    course_records,
    evidence,
    frameworks,
    health,
    ims_case,
    ims_wallet,
    learners,
    oauth,
    public_badges,
    public_transcripts,
    roster,
    tenants,
    vc_api,
    vc_api_issue,
    verify,
)
from service.api.rest import badges as badges_rest
from service.api.rest import jobs as jobs_rest
from service.api.rest import oneroster as oneroster_rest
from service.api.rest import transcripts as transcripts_rest
from service.api.rest import webhooks as webhooks_rest
from service.api.web import console as console_pages
from service.api.web import ide, static_files, verify_pages, wallet_pages
from service.badges import signing
from service.config import Settings, get_settings
from service.db import Database
from service.jobs.backends import activate, create_backend, deactivate, prepare_queue_sync
from service.migrations import upgrade

logger = logging.getLogger(__name__)

#: Paths whose bodies may use the bulk limit instead of the default one.
BULK_PATH_PREFIXES: tuple[str, ...] = ("/api/v1/frameworks/import", "/api/v1/evidence")
#: Paths that read their JSON bodies through service.jsonio themselves (or keep their own error format).
READS_JSON_ITSELF: tuple[str, ...] = (
    *BULK_PATH_PREFIXES,
    "/graphql",
    "/ims/",
    "/api/v1/verify",
    "/verify",
    "/vc-api/",
)
#: OneRoster CSV bundles (zip) have a limit of their own: settings.oneroster.max_csv_bytes.
CSV_UPLOAD_PATH = "/api/v1/oneroster/csv"


def openapi_extra_models() -> list[type[BaseModel]]:
    """Models that routes reading their own bodies name in ``openapi_extra`` (see service.api.openapi)."""
    from service.evidence.schemas import EvidenceCreate

    return [EvidenceCreate]


async def build_routes(app: FastAPI) -> None:
    """Have the router build every route's request handling now, at startup.

    FastAPI prepares a route (its dependencies, parameter and body models) the first time a request is
    matched against it, so the first request to a route late in the table (``POST /graphql``) paid for
    the 170-odd routes before it: about 0.3 to 0.6 s of CPU on the event loop, stalling every request
    in flight. One request for a path no route serves walks the whole table; it goes to the router
    directly, so no middleware logs or counts it."""
    path = "/.well-known/portrait/build-routes"
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
        "app": app,
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        return None

    with contextlib.suppress(HTTPException):  # the 404 the walk ends with; no handler is involved
        await app.router(scope, receive, send)


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """Build the ASGI app. ``database`` lets tests hand in an engine they control."""
    settings = settings or get_settings()
    if settings.mode == "embedded":
        settings.ensure_secrets()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = database is None
        db = database or Database(
            settings.database_url,
            pool_size=settings.database_pool_size,
            echo=settings.database_echo,
            pgbouncer=settings.database_pgbouncer,
        )
        if owned and settings.should_auto_migrate:
            logger.info("migrating %s to head", db.dialect)
            await upgrade(settings.database_url)
            await asyncio.to_thread(prepare_queue_sync, settings)
        app.state.db = db
        # Caches of clients, tenants and issuer keys: listen for invalidations (PostgreSQL).
        invalidation = hotcache.for_engine(db.engine.sync_engine)
        invalidation.listen_through(pgbouncer=db.pgbouncer, listen_url=settings.database_listen_url)
        await invalidation.start()
        # Jobs: in-process tasks (SQLite) or deferring to procrastinate workers (PostgreSQL).
        jobs = create_backend(settings, db)
        await jobs.start()
        activate(jobs)
        app.state.jobs = jobs
        await start_introspection(settings.limits)
        await build_routes(app)
        gctune.tune()  # the app is built: what exists now lives as long as the process
        try:
            yield
        finally:
            deactivate(jobs)
            await jobs.stop()
            # The signing pool (VC-API issuance, batch issuance, transcripts) stops with the server: its
            # workers wait on a queue only this process feeds, and would outlive it (or, under
            # `--workers N`, hold up its exit).
            await asyncio.to_thread(signing.shutdown)
            await invalidation.stop()
            verification = getattr(app.state, "verification_service", None)
            if verification is not None:
                await verification.fetcher.aclose()
            if owned:
                await db.dispose()

    app = FastAPI(
        title="Portrait",
        version=__version__,
        summary="Portrait-of-a-Graduate competencies, evidence and verifiable credentials for K-12.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # served by service.api.web.ide with local assets
        redoc_url=None,
    )
    install_openapi(app, openapi_extra_models)
    app.state.settings = settings
    if database is not None:
        app.state.db = database

    limits = settings.limits

    def limit_for(path: str) -> int:
        if path.startswith(CSV_UPLOAD_PATH):
            return settings.oneroster.max_csv_bytes
        if BULK_PATH_PREFIXES and path.startswith(BULK_PATH_PREFIXES):
            return limits.max_bulk_body_bytes
        return limits.max_body_bytes

    install_handlers(app, [ims_wallet.IMSX_ERRORS])
    # One layer for request id and access log, HTML security headers, the NUL guard, body limits and
    # bounded JSON bodies (service.api.middleware): five layers cost a coroutine frame each per request.
    app.add_middleware(
        RequestMiddleware,
        limit_for=limit_for,
        json_limits=lambda: app.state.settings.limits,
        reads_json_itself=READS_JSON_ITSELF,
    )

    app.include_router(health.router)
    # Routes are matched in order, a few microseconds each: the public verification API, called by
    # partners at volume, comes before the ~200 routes of the rest of the API (docs/benchmarks.md).
    app.include_router(verify.router)
    app.include_router(oauth.router)
    app.include_router(tenants.router)
    app.include_router(learners.router)
    app.include_router(classes.router)
    app.include_router(course_records.learner_records)
    app.include_router(course_records.records)
    app.include_router(course_records.courses)
    app.include_router(course_records.final_results)
    app.include_router(roster.router)
    app.include_router(frameworks.router)
    app.include_router(evidence.router)
    app.include_router(awards.router)
    app.include_router(jobs_rest.router)
    app.include_router(webhooks_rest.router)
    app.include_router(oneroster_rest.router)
    app.include_router(ims_case.router)
    app.include_router(ims_wallet.api_router)
    app.include_router(ims_wallet.oauth_router)
    app.include_router(badges_rest.router)
    app.include_router(vc_api_issue.router)
    app.include_router(public_badges.router)
    app.include_router(transcripts_rest.router)
    app.include_router(public_transcripts.router)

    app.include_router(verify_pages.router)
    app.include_router(static_files.router)
    app.include_router(ide.router)
    app.include_router(vc_api.router)
    app.include_router(graphql_router(settings.limits))
    app.include_router(console_pages.router)
    app.include_router(wallet_pages.router)
    return app
