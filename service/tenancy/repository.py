"""Every query of the tenancy domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.db import fetch_page
from service.schemas import PageParams
from service.tenancy.models import ApiClient, Tenant
from service.tenancy.scopes import ADMIN


class TenantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        return await self.session.get(Tenant, tenant_id)

    async def get_by_slug(self, slug: str) -> Tenant | None:
        result = await self.session.exec(select(Tenant).where(col(Tenant.slug) == slug))
        return result.first()

    async def list(
        self, page: PageParams, *, only_id: uuid.UUID | None = None, status: str | None = None
    ) -> tuple[Sequence[Tenant], int]:
        query = select(Tenant)
        if only_id is not None:
            query = query.where(col(Tenant.id) == only_id)
        if status is not None:
            query = query.where(col(Tenant.status) == status)
        return await fetch_page(self.session, query, page, col(Tenant.slug))

    async def add(self, tenant: Tenant) -> Tenant:
        self.session.add(tenant)
        await self.session.flush()
        return tenant


class ApiClientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tenant_id: uuid.UUID | None, api_client_id: uuid.UUID) -> ApiClient | None:
        query = select(ApiClient).where(col(ApiClient.id) == api_client_id)
        if tenant_id is not None:
            query = query.where(col(ApiClient.tenant_id) == tenant_id)
        return (await self.session.exec(query)).first()

    async def get_by_client_id(self, client_id: str) -> tuple[ApiClient, Tenant] | None:
        query = (
            select(ApiClient, Tenant)
            .join(Tenant, col(Tenant.id) == col(ApiClient.tenant_id))
            .where(col(ApiClient.client_id) == client_id)
        )
        row = (await self.session.exec(query)).first()
        return None if row is None else (row[0], row[1])

    async def token_state(self, api_client_id: uuid.UUID) -> tuple[str, str, uuid.UUID, list[str]] | None:
        """A token's client as it is now: its status, its tenant's status, its tenant and its scopes.
        The per-request token check: one primary-key lookup."""
        query = (
            select(ApiClient.status, Tenant.status, ApiClient.tenant_id, ApiClient.scopes)
            .join(Tenant, col(Tenant.id) == col(ApiClient.tenant_id))
            .where(col(ApiClient.id) == api_client_id)
        )
        row = (await self.session.exec(query)).first()
        return None if row is None else (str(row[0]), str(row[1]), row[2], list(row[3] or []))

    async def active_admin_ids(self) -> list[uuid.UUID]:
        """Ids of the active clients holding ``admin``, locked for update (PostgreSQL)."""
        query = (
            select(ApiClient.id, ApiClient.scopes).where(col(ApiClient.status) == "active").with_for_update()
        )
        rows = (await self.session.exec(query)).all()
        return [row[0] for row in rows if ADMIN in (row[1] or [])]

    async def list(self, tenant_id: uuid.UUID | None, page: PageParams) -> tuple[Sequence[ApiClient], int]:
        query = select(ApiClient)
        if tenant_id is not None:
            query = query.where(col(ApiClient.tenant_id) == tenant_id)
        return await fetch_page(self.session, query, page, col(ApiClient.created_at), col(ApiClient.id))

    async def add(self, client: ApiClient) -> ApiClient:
        self.session.add(client)
        await self.session.flush()
        return client
