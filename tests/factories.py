"""Plain async factories: tenants, API clients and tokens through the real services and endpoint."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.tenancy import scopes as scope_names
from service.tenancy.models import Tenant
from service.tenancy.schemas import ApiClientCreate, TenantCreate
from service.tenancy.service import SYSTEM, TenancyService


async def make_tenant(session: AsyncSession, settings: Settings, slug: str | None = None) -> Tenant:
    slug = slug or f"d-{uuid.uuid4().hex[:10]}"
    return await TenancyService(session, settings).create_tenant(
        SYSTEM, TenantCreate(slug=slug, name=f"District {slug}")
    )


@dataclass(frozen=True)
class TenantRef:
    """A detached snapshot: ORM objects expire when a request rolls back, these never do."""

    id: uuid.UUID
    slug: str
    name: str


async def make_tenant_ref(session: AsyncSession, settings: Settings, slug: str | None = None) -> TenantRef:
    tenant = await make_tenant(session, settings, slug)
    return TenantRef(tenant.id, tenant.slug, tenant.name)


async def make_client(
    session: AsyncSession, settings: Settings, tenant: Tenant | TenantRef, scopes: list[str]
) -> tuple[str, str]:
    client, secret = await TenancyService(session, settings).create_client(
        SYSTEM, ApiClientCreate(tenant_id=tenant.id, name="test client", scopes=scopes)
    )
    return client.client_id, secret


async def fetch_token(http: httpx.AsyncClient, client_id: str, secret: str, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    response = await http.post("/oauth/token", data=data, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@dataclass
class District:
    tenant: TenantRef
    session: AsyncSession
    settings: Settings
    http: httpx.AsyncClient
    _tokens: dict[tuple[str, ...], str] = field(default_factory=dict)

    async def headers(self, *scopes: str) -> dict[str, str]:
        """Bearer headers for a fresh client of this district holding exactly ``scopes``."""
        key = tuple(sorted(scopes))
        if key not in self._tokens:
            cid, secret = await make_client(self.session, self.settings, self.tenant, list(scopes))
            self._tokens[key] = await fetch_token(self.http, cid, secret)
        return {"Authorization": f"Bearer {self._tokens[key]}"}

    async def all_headers(self) -> dict[str, str]:
        return await self.headers(*[s for s in scope_names.ALL_SCOPES if s != scope_names.ADMIN])


@dataclass
class Actors:
    a: District
    b: District

    @classmethod
    async def create(cls, session: AsyncSession, settings: Settings, http: httpx.AsyncClient) -> Actors:
        ta = await make_tenant_ref(session, settings)
        tb = await make_tenant_ref(session, settings)
        return cls(District(ta, session, settings, http), District(tb, session, settings, http))
