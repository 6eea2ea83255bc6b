"""Tenants and API clients. ``admin`` manages all; ``tenants:*`` a client's own tenant."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from service.api.deps import PageDep, SessionDep, SettingsDep, TenantsRead, TenantsWrite
from service.api.rest.errors import GET_ERRORS, READ_ERRORS, WRITE_ERRORS
from service.schemas import Page
from service.tenancy.schemas import (
    ApiClientCreate,
    ApiClientCreated,
    ApiClientRead,
    ApiClientUpdate,
    TenantCreate,
    TenantRead,
    TenantUpdate,
)
from service.tenancy.service import TenancyService

router = APIRouter(prefix="/api/v1", tags=["tenants"])


@router.get(
    "/tenants",
    summary="List tenants (admin: all; otherwise the caller's own)",
    description=(
        "A page of districts. An `admin` token sees every tenant; any other token sees only its own district."
    ),
    responses=READ_ERRORS,
)
async def list_tenants(
    principal: TenantsRead,
    session: SessionDep,
    settings: SettingsDep,
    page: PageDep,
    status: Annotated[Literal["active", "inactive"] | None, Query()] = None,
) -> Page[TenantRead]:
    rows, total = await TenancyService(session, settings).list_tenants(principal, page, status=status)
    return Page(
        items=[TenantRead.model_validate(t) for t in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "/tenants",
    status_code=201,
    summary="Create a tenant (admin)",
    description=(
        "Creates a district (its slug names its did:web issuer and its public pages). Platform "
        "administration: needs `admin`; a slug already taken is a 409."
    ),
    responses=WRITE_ERRORS,
)
async def create_tenant(
    body: TenantCreate, principal: TenantsWrite, session: SessionDep, settings: SettingsDep
) -> TenantRead:
    tenant = await TenancyService(session, settings).create_tenant(principal, body)
    return TenantRead.model_validate(tenant)


@router.get(
    "/tenants/{tenant_id}",
    summary="Get a tenant",
    description=("One district; another district's id is a 404 unless the token holds `admin`."),
    responses=GET_ERRORS,
)
async def get_tenant(
    tenant_id: uuid.UUID, principal: TenantsRead, session: SessionDep, settings: SettingsDep
) -> TenantRead:
    return TenantRead.model_validate(await TenancyService(session, settings).get_tenant(principal, tenant_id))


@router.patch(
    "/tenants/{tenant_id}",
    summary="Update a tenant",
    description=(
        "Only the fields given change (name, status, `public_learner_name`: how public pages name a "
        "learner). Disabling a tenant refuses its tokens at once."
    ),
    responses=WRITE_ERRORS,
)
async def update_tenant(
    tenant_id: uuid.UUID,
    body: TenantUpdate,
    principal: TenantsWrite,
    session: SessionDep,
    settings: SettingsDep,
) -> TenantRead:
    tenant = await TenancyService(session, settings).update_tenant(principal, tenant_id, body)
    return TenantRead.model_validate(tenant)


@router.get(
    "/clients",
    summary="List API clients",
    description=(
        "A page of API clients (never their secrets): every client with `admin`, otherwise those of "
        "the caller's district."
    ),
    responses=READ_ERRORS,
)
async def list_clients(
    principal: TenantsRead,
    session: SessionDep,
    settings: SettingsDep,
    page: PageDep,
    tenant_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[ApiClientRead]:
    rows, total = await TenancyService(session, settings).list_clients(principal, page, tenant_id=tenant_id)
    return Page(
        items=[ApiClientRead.model_validate(c) for c in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/clients",
    status_code=201,
    summary="Create an API client; the secret is returned once",
    description=(
        "Creates a client of a district with the scopes asked for. With `admin`: any tenant and any "
        "scopes; with `tenants:write`: the caller's own district and at most the caller's scopes. The"
        " `client_secret` is in this answer only; it is stored as a hash."
    ),
    responses=WRITE_ERRORS,
)
async def create_client(
    body: ApiClientCreate, principal: TenantsWrite, session: SessionDep, settings: SettingsDep
) -> ApiClientCreated:
    client, secret = await TenancyService(session, settings).create_client(principal, body)
    return ApiClientCreated.model_validate(
        {**ApiClientRead.model_validate(client).model_dump(), "client_secret": secret}
    )


@router.get(
    "/clients/{client_id}",
    summary="Get an API client",
    description=("One API client (without its secret); 404 for a client the token may not see."),
    responses=GET_ERRORS,
)
async def get_client(
    client_id: uuid.UUID, principal: TenantsRead, session: SessionDep, settings: SettingsDep
) -> ApiClientRead:
    return ApiClientRead.model_validate(
        await TenancyService(session, settings).get_client(principal, client_id)
    )


@router.patch(
    "/clients/{client_id}",
    summary="Update an API client (name, scopes, status: inactive disables its tokens at once)",
    description=(
        "A caller may change another client only if it holds every scope that client holds (403 "
        "naming the missing ones); only `admin` touches an `admin` client; the last active `admin` "
        "client cannot be disabled or demoted (409 `last_admin_client`). Changes apply to existing "
        "tokens on their next request."
    ),
    responses=WRITE_ERRORS,
)
async def update_client(
    client_id: uuid.UUID,
    body: ApiClientUpdate,
    principal: TenantsWrite,
    session: SessionDep,
    settings: SettingsDep,
) -> ApiClientRead:
    client = await TenancyService(session, settings).update_client(principal, client_id, body)
    return ApiClientRead.model_validate(client)
