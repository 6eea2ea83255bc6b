"""Tenancy over GraphQL: the caller, tenants (districts) and API clients."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Self

import strawberry

from service.api.graphql.common import (
    Page,
    Status,
    enum_value,
    field,
    mutation,
    paged,
    validate_input,
)
from service.api.graphql.context import Info
from service.tenancy import models
from service.tenancy import scopes as scope_names
from service.tenancy.schemas import ApiClientCreate, ApiClientUpdate, TenantCreate, TenantUpdate

# -- types --------------------------------------------------------------------------------------


@strawberry.type(description="The authenticated caller: its tenant, API client and granted scopes.")
class Me:
    tenant_id: uuid.UUID
    client_id: str
    scopes: list[str]
    is_admin: bool = strawberry.field(description="holds the platform `admin` scope")


@strawberry.type(description="A school district: the unit of isolation of every other record.")
class Tenant:
    id: uuid.UUID
    slug: str = strawberry.field(description="used in URLs and the district's did:web")
    name: str
    status: Status
    public_learner_name: str = strawberry.field(
        description="how public credential pages name the learner: full, first_initial or none"
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, row: models.Tenant) -> Self:
        return cls(
            id=row.id,
            slug=row.slug,
            name=row.name,
            status=Status(row.status),
            public_learner_name=row.public_learner_name,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="An OAuth 2.0 client of one tenant; `inactive` disables its tokens at once.")
class ApiClient:
    id: uuid.UUID
    tenant_id: uuid.UUID
    client_id: str = strawberry.field(description="the OAuth `client_id`")
    name: str
    scopes: list[str]
    status: Status
    last_used_at: datetime | None
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.ApiClient) -> Self:
        return cls(
            id=row.id,
            tenant_id=row.tenant_id,
            client_id=row.client_id,
            name=row.name,
            scopes=list(row.scopes),
            status=Status(row.status),
            last_used_at=row.last_used_at,
            created_at=row.created_at,
        )


@strawberry.type(description="A new API client with its secret: shown this once, only a hash is stored.")
class ApiClientCreated(ApiClient):
    client_secret: str


# -- inputs -------------------------------------------------------------------------------------


@strawberry.input
class CreateTenantInput:
    slug: str = strawberry.field(description="lowercase letters, digits and inner hyphens (max 63)")
    name: str


@strawberry.input(description="Only the fields given change; `status` needs the admin scope.")
class UpdateTenantInput:
    name: str | None = strawberry.UNSET
    status: Status | None = strawberry.UNSET
    public_learner_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="full, first_initial or none"
    )


@strawberry.input
class CreateApiClientInput:
    tenant_id: uuid.UUID | None = strawberry.field(
        default=strawberry.UNSET, description="defaults to the caller's tenant; another tenant needs admin"
    )
    name: str
    scopes: list[str] = strawberry.field(description="a client cannot grant scopes it does not hold")


@strawberry.input(description="Only the fields given change.")
class UpdateApiClientInput:
    name: str | None = strawberry.UNSET
    scopes: list[str] | None = strawberry.UNSET
    status: Status | None = strawberry.UNSET


# -- operations ---------------------------------------------------------------------------------


@strawberry.type
class TenancyQuery:
    @field(description="The caller of this request (any valid token).")
    def me(self, info: Info) -> Me | None:
        principal = info.context.require()
        return Me(
            tenant_id=principal.tenant_id,
            client_id=principal.client_id,
            scopes=scope_names.normalize(principal.scopes),
            is_admin=principal.is_admin,
        )

    @field(description="Tenants: all with admin, otherwise the caller's own (tenants:read).")
    async def tenants(
        self,
        info: Info,
        status: Status | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Tenant] | None:
        principal = info.context.require("tenants:read")
        return await paged(
            info,
            limit,
            offset,
            lambda page: info.context.tenancy().list_tenants(principal, page, status=enum_value(status)),
            Tenant.from_model,
        )

    @field(description="A tenant the caller can see (tenants:read); NOT_FOUND otherwise.")
    async def tenant(self, info: Info, id: uuid.UUID) -> Tenant | None:
        principal = info.context.require("tenants:read")
        async with info.context.db_lock:
            return Tenant.from_model(await info.context.tenancy().get_tenant(principal, id))

    @field(description="API clients: admin sees every tenant's, others their own (tenants:read).")
    async def api_clients(
        self,
        info: Info,
        tenant_id: uuid.UUID | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[ApiClient] | None:
        principal = info.context.require("tenants:read")
        return await paged(
            info,
            limit,
            offset,
            lambda page: info.context.tenancy().list_clients(principal, page, tenant_id=tenant_id),
            ApiClient.from_model,
        )

    @field(description="An API client the caller can see (tenants:read); NOT_FOUND otherwise.")
    async def api_client(self, info: Info, id: uuid.UUID) -> ApiClient | None:
        principal = info.context.require("tenants:read")
        async with info.context.db_lock:
            return ApiClient.from_model(await info.context.tenancy().get_client(principal, id))


@strawberry.type
class TenancyMutation:
    @mutation(description="Create a tenant (admin).")
    async def create_tenant(self, info: Info, input: CreateTenantInput) -> Tenant:
        principal = info.context.require("tenants:write")
        data = validate_input(TenantCreate, input)
        async with info.context.db_lock:
            return Tenant.from_model(await info.context.tenancy().create_tenant(principal, data))

    @mutation(description="Update a tenant (tenants:write; status needs admin).")
    async def update_tenant(self, info: Info, id: uuid.UUID, input: UpdateTenantInput) -> Tenant:
        principal = info.context.require("tenants:write")
        data = validate_input(TenantUpdate, input)
        async with info.context.db_lock:
            return Tenant.from_model(await info.context.tenancy().update_tenant(principal, id, data))

    @mutation(description="Create an API client (tenants:write); the secret is returned once.")
    async def create_api_client(self, info: Info, input: CreateApiClientInput) -> ApiClientCreated:
        principal = info.context.require("tenants:write")
        data = validate_input(ApiClientCreate, input)
        async with info.context.db_lock:
            client, secret = await info.context.tenancy().create_client(principal, data)
        read = ApiClient.from_model(client)
        return ApiClientCreated(**vars(read), client_secret=secret)

    @mutation(description="Update an API client (tenants:write); `inactive` disables its tokens at once.")
    async def update_api_client(self, info: Info, id: uuid.UUID, input: UpdateApiClientInput) -> ApiClient:
        principal = info.context.require("tenants:write")
        data = validate_input(ApiClientUpdate, input)
        async with info.context.db_lock:
            return ApiClient.from_model(await info.context.tenancy().update_client(principal, id, data))
