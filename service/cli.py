"""The ``portrait`` command."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer

from service import gctune
from service.badges import signing
from service.config import Settings, get_settings
from service.db import Database
from service.logging import configure_logging
from service.migrations import upgrade_sync
from service.tenancy import scopes as scope_names
from service.tenancy.schemas import ApiClientCreate, ApiClientRead, TenantCreate, TenantRead
from service.tenancy.service import SYSTEM, TenancyService

app = typer.Typer(help="Portrait credentials service.", no_args_is_help=True, add_completion=False)


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.log_level, as_json=settings.logs_as_json)
    return settings


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Run the HTTP service (embedded mode migrates the database first)."""
    import uvicorn

    settings = _settings()
    if settings.should_auto_migrate:
        upgrade_sync(settings.database_url)
        _prepare_queue(settings)
        settings.auto_migrate = False  # done once here, not again in every worker
    uvicorn.run(
        "service.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        # The client address is resolved by the app through settings.trusted_proxies only
        # (service/net.py client_address): uvicorn must not trust X-Forwarded-For on its own.
        proxy_headers=False,
        server_header=False,
        access_log=False,
    )


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Upgrade the database schema (Alembic), then the job queue's own schema (procrastinate)."""
    settings = _settings()
    upgrade_sync(settings.database_url, revision)
    typer.echo(f"database at {revision}")
    queue = _prepare_queue(settings)
    if queue:
        typer.echo(queue)


def _prepare_queue(settings: Settings) -> str | None:
    from service.jobs.backends import prepare_queue_sync

    return prepare_queue_sync(settings)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="jobs run at the same time")] = 4,
    name: Annotated[str | None, typer.Option(help="worker name in logs")] = None,
) -> None:
    """Run jobs until SIGINT/SIGTERM: a procrastinate worker on PostgreSQL (run one or more, on any
    machines), or an in-process runner on SQLite (`serve` already runs one)."""
    from service.jobs.backends import InProcessBackend, ProcrastinateBackend, activate, backend_name

    settings = _settings()
    kind = backend_name(settings)

    async def run() -> None:
        db = Database(
            settings.database_url, pool_size=max(2, concurrency + 1), pgbouncer=settings.database_pgbouncer
        )
        try:
            if kind == "procrastinate":
                queue = ProcrastinateBackend(db, settings)
                await queue.start()
                activate(queue)
                gctune.tune()
                try:  # procrastinate stops gracefully on SIGINT/SIGTERM
                    await queue.run_worker(concurrency=concurrency, name=name)
                finally:
                    await queue.stop()
            else:
                main = asyncio.current_task()
                assert main is not None
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, main.cancel)  # stop() puts running jobs back
                local = InProcessBackend(db, settings, concurrency=concurrency)
                activate(local)
                gctune.tune()
                await local.run_forever()
        finally:
            # The signing pool's workers (batch issuance, transcripts) would otherwise outlive the worker.
            await asyncio.to_thread(signing.shutdown)
            await db.dispose()

    typer.echo(f"worker: {kind} jobs backend, concurrency {concurrency}", err=True)
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(run())


@app.command()
def demo(
    reset: Annotated[bool, typer.Option(help="drop the demo tenant first")] = False,
) -> None:
    """Load the demo district (slug ``demo``); running it again changes nothing."""
    from service.demo import load_demo

    settings = _settings()
    upgrade_sync(settings.database_url)
    summary = asyncio.run(_with_db(settings, lambda db: load_demo(db, settings, reset=reset)))
    typer.echo(json.dumps(summary, indent=2))


@app.command("create-tenant")
def create_tenant(
    slug: Annotated[str, typer.Option(help="URL-safe identifier")],
    name: Annotated[str, typer.Option(help="display name")],
) -> None:
    """Create a tenant (district) and print it as JSON."""
    settings = _settings()

    async def run(db: Database) -> dict[str, object]:
        async with db.session() as session:
            tenant = await TenancyService(session, settings).create_tenant(
                SYSTEM, TenantCreate(slug=slug, name=name)
            )
            await session.commit()
            return TenantRead.model_validate(tenant).model_dump(mode="json")

    typer.echo(json.dumps(_run_checked(settings, run), indent=2))


@app.command("create-client")
def create_client(
    tenant: Annotated[str, typer.Option(help="tenant slug")],
    scopes: Annotated[
        str | None, typer.Option(help='space-separated, e.g. "roster:read roster:write"')
    ] = None,
    all_scopes: Annotated[bool, typer.Option("--all-scopes", help="every scope, admin included")] = False,
    name: Annotated[str, typer.Option(help="display name")] = "cli client",
) -> None:
    """Create an API client and print its client_id and client_secret as JSON."""
    if all_scopes == (scopes is not None):
        raise typer.BadParameter("give exactly one of --scopes or --all-scopes")
    settings = _settings()
    wanted = list(scope_names.ALL_SCOPES) if all_scopes else scope_names.parse(scopes or "")
    unknown = scope_names.unknown_scopes(wanted)
    if unknown or not wanted:
        raise typer.BadParameter(f"unknown scopes: {' '.join(unknown)}" if unknown else "no scopes given")

    async def run(db: Database) -> dict[str, object]:
        async with db.session() as session:
            service = TenancyService(session, settings)
            target = await service.get_tenant_by_slug(SYSTEM, tenant)
            client, secret = await service.create_client(
                SYSTEM, ApiClientCreate(tenant_id=target.id, name=name, scopes=wanted)
            )
            await session.commit()
            out = ApiClientRead.model_validate(client).model_dump(mode="json")
            out["client_secret"] = secret
            out["tenant"] = target.slug
            out["token_url"] = f"{settings.public_url}/oauth/token"
            return out

    typer.echo(json.dumps(_run_checked(settings, run), indent=2))


@app.command("sync")
def sync(
    tenant: Annotated[str, typer.Option(help="tenant slug")],
    connection: Annotated[str, typer.Option(help="OneRoster connection id")],
    mode: Annotated[str, typer.Option(help="full or delta")] = "delta",
    override: Annotated[
        bool, typer.Option("--override", help="allow deactivating more learners than the guard permits")
    ] = False,
    progress: Annotated[bool, typer.Option(help="show a progress bar on stderr")] = True,
) -> None:
    """Sync a OneRoster connection now, in this process, with a progress bar; prints the job as JSON.

    The sync is an ordinary job (it shows in GET /api/v1/jobs); if a worker claims it first, this
    command follows it to its end instead."""
    import uuid as uuid_module

    from service.adapters.oneroster.cli import run_sync_command

    if mode not in ("full", "delta"):
        raise typer.BadParameter("mode must be full or delta")
    try:
        connection_id = uuid_module.UUID(connection)
    except ValueError as exc:
        raise typer.BadParameter("connection must be a UUID") from exc
    settings = _settings()

    async def run(db: Database) -> dict[str, object]:
        return await run_sync_command(
            db, settings, tenant, connection_id, mode=mode, override=override, show_progress=progress
        )

    job = _run_checked(settings, run)
    typer.echo(json.dumps(job, indent=2))
    if job.get("state") != "succeeded":
        raise typer.Exit(code=1)


@app.command("transcripts")
def transcripts(
    tenant: Annotated[str, typer.Option(help="tenant slug")],
    school: Annotated[str | None, typer.Option(help="school (org) id: its learners")] = None,
    grade: Annotated[str | None, typer.Option(help="with --school: only this grade, e.g. 12")] = None,
    class_id: Annotated[str | None, typer.Option("--class", help="class id: its learners")] = None,
    learner: Annotated[list[str] | None, typer.Option(help="a learner id (repeatable)")] = None,
    offset: Annotated[int, typer.Option(help="skip this many learners of the selection")] = 0,
    limit: Annotated[int | None, typer.Option(help="at most this many (5,000 per run)")] = None,
    courses: Annotated[bool, typer.Option(help="include course records")] = True,
    in_progress: Annotated[bool, typer.Option(help="include work in progress")] = True,
    self_assessments: Annotated[bool, typer.Option(help="count self-assessments")] = False,
    as_of: Annotated[str | None, typer.Option(help="records up to this date (YYYY-MM-DD)")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar on stderr")] = True,
) -> None:
    """Generate extended transcripts (CLR 2.0) for a cohort: a school's grade, a class or learners.

    Runs the transcripts job in this process with a progress bar and prints the job as JSON (exit
    status 1 unless it succeeded). The job shows in GET /api/v1/jobs like any other."""
    from pydantic import ValidationError

    from service.transcripts.cli import run_transcripts_command
    from service.transcripts.schemas import TranscriptBatch

    try:
        request = TranscriptBatch.model_validate(
            {
                "school_id": school,
                "grade": grade,
                "class_id": class_id,
                "learner_ids": learner or None,
                "offset": offset,
                "limit": limit,
                "options": {
                    "include_courses": courses,
                    "include_in_progress": in_progress,
                    "include_self_assessments": self_assessments,
                    "as_of": as_of,
                },
            }
        )
    except ValidationError as exc:
        raise typer.BadParameter("; ".join(str(e["msg"]) for e in exc.errors())) from exc
    settings = _settings()

    async def run(db: Database) -> dict[str, object]:
        return await run_transcripts_command(db, settings, tenant, request, show_progress=progress)

    job = _run_checked(settings, run)
    typer.echo(json.dumps(job, indent=2))
    if job.get("state") != "succeeded":
        raise typer.Exit(code=1)


@app.command("sign-in-link")
def sign_in_link(
    tenant: Annotated[str, typer.Option(help="tenant slug")],
    email: Annotated[str, typer.Option(help="the staff member's email address on the roster")],
) -> None:
    """Print a one-time staff console sign-in URL for a roster person (the link the mailer would send)."""
    from service.identity.service import IdentityService

    settings = _settings()

    async def run(db: Database) -> dict[str, object]:
        async with db.session() as session:
            url = await IdentityService(session, settings).link_for_email(tenant, email)
            await session.commit()
            return {"url": url}

    typer.echo(_run_checked(settings, run)["url"])


@app.command("grant-role")
def grant_role(
    tenant: Annotated[str, typer.Option(help="tenant slug")],
    email: Annotated[str, typer.Option(help="the person's email address on the roster")],
    role: Annotated[str, typer.Option(help="educator, counselor, school_lead or district_admin")],
    school: Annotated[
        str | None, typer.Option(help="school sourcedId (counselor, school_lead): limits the role to it")
    ] = None,
) -> None:
    """Give a roster person a staff console role (as a district admin would); prints the grant as JSON."""
    from pydantic import ValidationError

    from service.identity.repository import IdentityRepository
    from service.identity.schemas import RoleGrantCreate, RoleGrantRead
    from service.identity.service import IdentityService
    from service.roster.models import Org

    settings = _settings()

    async def run(db: Database) -> dict[str, object]:
        async with db.session() as session:
            service = IdentityService(session, settings)
            target = await service.tenant_by_slug(tenant)
            people = await IdentityRepository(session).active_people_by_email(target.id, email)
            if not people:
                raise typer.BadParameter(f"nobody on the roster of {tenant} has the email {email}")
            org_id = None
            if school is not None:
                org = await service.roster.get_by_sourced_id(Org, target.id, school)
                if org is None:
                    raise typer.BadParameter(f"no school with sourcedId {school}")
                org_id = org.id
            try:
                data = RoleGrantCreate(person_id=people[0].id, role=role, org_id=org_id)
            except ValidationError as exc:
                raise typer.BadParameter(f"unknown role {role}") from exc
            grant = await service.grant_role(None, target, data)
            await session.commit()
            return RoleGrantRead.model_validate(grant).model_dump(mode="json")

    typer.echo(json.dumps(_run_checked(settings, run), indent=2))


@app.command("set-sso")
def set_sso(
    tenant: Annotated[str, typer.Option(help="tenant slug")],
    issuer: Annotated[str, typer.Option(help="the identity provider's issuer URL")],
    client_id: Annotated[str, typer.Option(help="this service's client id at the provider")],
    client_secret: Annotated[
        str,
        typer.Option(
            envvar="PORTRAIT_SSO_CLIENT_SECRET", help="client secret (or PORTRAIT_SSO_CLIENT_SECRET)"
        ),
    ],
    match_by: Annotated[str, typer.Option(help="email or sourced_id")] = "email",
    sourced_id_claim: Annotated[str, typer.Option(help="ID token claim holding the sourcedId")] = "sub",
) -> None:
    """Set up OpenID Connect single sign-on for a tenant's staff console (secret encrypted at rest)."""
    from pydantic import ValidationError

    from service.identity.schemas import OidcProviderRead, OidcProviderSet
    from service.identity.service import IdentityService

    settings = _settings()
    try:
        data = OidcProviderSet(
            issuer=issuer,
            client_id=client_id,
            client_secret=client_secret,
            match_by=match_by,
            sourced_id_claim=sourced_id_claim,
        )
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from exc

    async def run(db: Database) -> dict[str, object]:
        async with db.session() as session:
            service = IdentityService(session, settings)
            row = await service.set_oidc_provider(await service.tenant_by_slug(tenant), data)
            await session.commit()
            out = OidcProviderRead.model_validate(row).model_dump(mode="json")
            out["redirect_uri"] = service.round_trip().redirect_uri
            return out

    typer.echo(json.dumps(_run_checked(settings, run), indent=2))


DbTask = Callable[[Database], Awaitable[dict[str, object]]]


def _run_checked(settings: Settings, fn: DbTask) -> dict[str, object]:
    from service.errors import ServiceError

    try:
        return asyncio.run(_with_db(settings, fn))
    except ServiceError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(code=1) from exc


async def _with_db(settings: Settings, fn: DbTask) -> dict[str, object]:
    db = Database(settings.database_url, pool_size=2, pgbouncer=settings.database_pgbouncer)
    try:
        return await fn(db)
    finally:
        await db.dispose()


def main() -> None:
    app()
