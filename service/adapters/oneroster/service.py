"""OneRoster connection use cases: CRUD with the secret encrypted at rest, test, and queueing syncs.

Services flush, never commit. The sync itself runs as a job (sync.py).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from service.adapters.oneroster.client import ClientConfig, OneRosterClient, with_params
from service.adapters.oneroster.errors import (
    ConnectionNotFound,
    ConnectionUrlRejected,
    GradeMapExists,
    GradeMapNotFound,
    OneRosterError,
    SyncAlreadyRunning,
)
from service.adapters.oneroster.models import GradeMap, OneRosterConnection
from service.adapters.oneroster.repository import ConnectionRepository, GradeRepository
from service.adapters.oneroster.schemas import (
    ConnectionCreate,
    ConnectionTestResult,
    ConnectionUpdate,
    GradeMapCreate,
    SyncRequest,
)
from service.config import Settings
from service.crypto import secret_box
from service.db import utcnow
from service.errors import FieldError, ValidationFailedError
from service.jobs.models import Job
from service.jobs.service import JobService
from service.net import OutboundPolicy, OutboundURLError, check_outbound_url_async
from service.schemas import PageParams

SYNC_KIND = "oneroster.sync"
AREA = "sync"


def secret_context(connection_id: uuid.UUID) -> str:
    """SecretBox context: a ciphertext only decrypts on its own connection's row."""
    return f"oneroster:{connection_id}"


def client_for(
    connection: OneRosterConnection, settings: Settings, *, interactive: bool = False
) -> OneRosterClient:
    secret = secret_box(settings).decrypt(
        connection.client_secret_encrypted, context=secret_context(connection.id)
    )
    config = ClientConfig.build(
        settings.oneroster,
        base_url=connection.base_url,
        version=connection.version,
        token_url=connection.token_url or "",
        auth_method=connection.auth_method,
        client_id=connection.client_id,
        client_secret=secret,
        scopes=list(connection.scopes),
    )
    if interactive:
        # A person is waiting: one retry at most, and the outbound timeout instead of the sync's.
        config = dataclasses.replace(
            config, max_retries=min(1, config.max_retries), timeout_seconds=settings.outbound.timeout_seconds
        )
    return OneRosterClient(config, OutboundPolicy.from_settings(settings.outbound))


class ConnectionService:
    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID, settings: Settings) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.settings = settings
        self.repo = ConnectionRepository(session, tenant_id)

    async def _check_url(self, field: str, url: str) -> None:
        try:
            await check_outbound_url_async(url, OutboundPolicy.from_settings(self.settings.outbound))
        except OutboundURLError as exc:
            raise ConnectionUrlRejected(
                f"{field} is not allowed: {exc.reason}",
                [FieldError(f"body.{field}", exc.reason, "url_not_allowed")],
            ) from exc

    async def get(self, connection_id: uuid.UUID) -> OneRosterConnection:
        connection = await self.repo.get(connection_id)
        if connection is None:
            raise ConnectionNotFound(f"OneRoster connection {connection_id} not found")
        return connection

    async def list(self, page: PageParams) -> tuple[Sequence[OneRosterConnection], int]:
        return await self.repo.list(page)

    async def create(self, data: ConnectionCreate) -> OneRosterConnection:
        await self._check_url("base_url", data.base_url)
        if data.token_url is not None:
            await self._check_url("token_url", data.token_url)
        connection_id = uuid.uuid4()
        connection = OneRosterConnection(
            id=connection_id,
            tenant_id=self.tenant_id,
            name=data.name,
            base_url=data.base_url.rstrip("/"),
            version=data.version,
            auth_method=data.auth_method,
            token_url=data.token_url,
            client_id=data.client_id,
            client_secret_encrypted=secret_box(self.settings).encrypt(
                data.client_secret, context=secret_context(connection_id)
            ),
            scopes=list(data.scopes),
            schedule_minutes=data.schedule_minutes,
            inactive_evidence=data.inactive_evidence,
        )
        await self.repo.add(connection)
        return connection

    async def update(self, connection_id: uuid.UUID, data: ConnectionUpdate) -> OneRosterConnection:
        connection = await self.get(connection_id)
        changes = data.model_dump(exclude_unset=True)
        nulls = [
            k for k, v in changes.items() if v is None and k not in ("name", "schedule_minutes", "token_url")
        ]
        if nulls:
            raise ValidationFailedError(
                "invalid input: " + ", ".join(f"body.{n}" for n in nulls),
                [FieldError(f"body.{n}", "may not be null", "null_not_allowed") for n in nulls],
            )
        auth = changes.get("auth_method", connection.auth_method)
        version = changes.get("version", connection.version)
        token_url = changes.get("token_url", connection.token_url)
        if auth == "oauth2" and token_url is None:
            raise ValidationFailedError(
                "token_url is required with auth_method oauth2",
                [FieldError("body.token_url", "required with auth_method oauth2", "missing")],
            )
        if auth == "oauth1" and version != "1.1":
            raise ValidationFailedError(
                "auth_method oauth1 is only for OneRoster 1.1 providers",
                [FieldError("body.auth_method", "oauth1 needs version 1.1", "invalid")],
            )
        for field in ("base_url", "token_url"):
            if changes.get(field) is not None:
                await self._check_url(field, changes[field])
        secret = changes.pop("client_secret", None)
        if secret is not None:
            connection.client_secret_encrypted = secret_box(self.settings).encrypt(
                secret, context=secret_context(connection.id)
            )
        if "base_url" in changes:
            changes["base_url"] = changes["base_url"].rstrip("/")
        if (
            changes.get("base_url", connection.base_url) != connection.base_url
            or changes.get("version", connection.version) != connection.version
        ):
            # Another provider (or API): the next delta would start from a mark that means nothing.
            connection.high_water_mark = None
        for key, value in changes.items():
            setattr(connection, key, list(value) if key == "scopes" else value)
        connection.updated_at = utcnow()
        await self.repo.add(connection)
        return connection

    async def delete(self, connection_id: uuid.UUID) -> None:
        """The connection and its record index go; the synced roster stays."""
        await self.repo.delete(await self.get(connection_id))

    async def test(self, connection_id: uuid.UUID) -> ConnectionTestResult:
        """Fetch a token and one org: answers whether the provider is reachable and accepts us."""
        connection = await self.get(connection_id)
        token = False
        try:
            async with client_for(connection, self.settings, interactive=True) as client:
                if connection.auth_method == "oauth2":
                    await client.token()
                token = True
                url = client.collection_url("orgs")
                await client.get_json(with_params(url, {"limit": 1}))
        except OneRosterError as exc:
            return ConnectionTestResult(
                ok=False, token=token, rostering=False, detail=exc.message, error=exc.as_dict()
            )
        return ConnectionTestResult(
            ok=True, token=True, rostering=True, detail="token granted and the orgs endpoint answered"
        )

    async def enqueue_sync(self, connection_id: uuid.UUID, request: SyncRequest) -> Job:
        connection = await self.get(connection_id)
        for job in await self.repo.unfinished_sync_jobs(SYNC_KIND):
            if job.params.get("connection_id") == str(connection.id):
                raise SyncAlreadyRunning(f"a sync of this connection is already {job.state}: job {job.id}")
        return await JobService(self.session, self.tenant_id).enqueue(
            SYNC_KIND,
            AREA,
            {"connection_id": str(connection.id), "mode": request.mode, "override": request.override},
        )


class GradeMapService:
    """Which line items (or categories) count as evidence of which competency, and at what level."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.repo = GradeRepository(session, tenant_id)

    async def create(self, data: GradeMapCreate) -> GradeMap:
        if data.competency_id is not None and not await self.repo.competency_ids([data.competency_id]):
            raise ValidationFailedError(
                f"competency {data.competency_id} does not exist",
                [FieldError("body.competency_id", "unknown competency", "invalid_reference")],
            )
        if await self.repo.conflicting(data.line_item_sourced_id, data.category_sourced_id) is not None:
            target = data.line_item_sourced_id or data.category_sourced_id or "learning objectives"
            raise GradeMapExists(f"a grade map for {target} already exists; delete it first")
        row = GradeMap(
            tenant_id=self.tenant_id,
            line_item_sourced_id=data.line_item_sourced_id,
            category_sourced_id=data.category_sourced_id,
            competency_id=data.competency_id,
            cut_scores=[c.model_dump() for c in data.cut_scores],
        )
        await self.repo.add(row)
        return row

    async def list(self) -> Sequence[GradeMap]:
        return await self.repo.all()

    async def list_page(self, page: PageParams) -> tuple[Sequence[GradeMap], int]:
        return await self.repo.list_page(page)

    async def delete(self, map_id: uuid.UUID) -> None:
        row = await self.repo.get(map_id)
        if row is None:
            raise GradeMapNotFound(f"grade map {map_id} not found")
        await self.repo.delete(row)
