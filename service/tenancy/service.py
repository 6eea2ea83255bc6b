"""Tenancy use cases: tenants, API clients, access tokens. Services flush; transports commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from service import hotcache
from service.config import Settings
from service.errors import ConflictError, ForbiddenError, UnauthorizedError
from service.schemas import PageParams
from service.tenancy import scopes as scope_names
from service.tenancy import tokens
from service.tenancy.errors import ApiClientNotFound, InvalidClient, TenantNotFound, TenantSlugTaken
from service.tenancy.models import ApiClient, Tenant
from service.tenancy.repository import ApiClientRepository, TenantRepository
from service.tenancy.schemas import ApiClientCreate, ApiClientUpdate, TenantCreate, TenantUpdate
from service.tenancy.tokens import Principal

#: The trusted local operator (the CLI): every scope, no tenant of its own.
SYSTEM = Principal(
    tenant_id=uuid.UUID(int=0),
    api_client_id=uuid.UUID(int=0),
    client_id="system",
    scopes=frozenset(scope_names.ALL_SCOPES),
    token_id="system",  # noqa: S106 - not a secret
)


class TenancyService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.tenants = TenantRepository(session)
        self.clients = ApiClientRepository(session)

    # -- tenants -------------------------------------------------------------------------------

    def _visible_tenant(self, principal: Principal, tenant_id: uuid.UUID) -> bool:
        return principal.is_admin or principal.tenant_id == tenant_id

    async def create_tenant(self, principal: Principal, data: TenantCreate) -> Tenant:
        if not principal.is_admin:
            raise ForbiddenError("creating a tenant needs the admin scope")
        if await self.tenants.get_by_slug(data.slug) is not None:
            raise TenantSlugTaken(f"a tenant with slug '{data.slug}' already exists")
        return await self.tenants.add(Tenant(slug=data.slug, name=data.name))

    async def list_tenants(
        self, principal: Principal, page: PageParams, *, status: str | None = None
    ) -> tuple[Sequence[Tenant], int]:
        only = None if principal.is_admin else principal.tenant_id
        return await self.tenants.list(page, only_id=only, status=status)

    async def get_tenant(self, principal: Principal, tenant_id: uuid.UUID) -> Tenant:
        tenant = await self.tenants.get(tenant_id) if self._visible_tenant(principal, tenant_id) else None
        if tenant is None:
            raise TenantNotFound(f"tenant {tenant_id} not found")
        return tenant

    async def get_tenant_by_slug(self, principal: Principal, slug: str) -> Tenant:
        tenant = await self.tenants.get_by_slug(slug)
        if tenant is None or not self._visible_tenant(principal, tenant.id):
            raise TenantNotFound(f"tenant '{slug}' not found")
        return tenant

    async def update_tenant(self, principal: Principal, tenant_id: uuid.UUID, data: TenantUpdate) -> Tenant:
        tenant = await self.get_tenant(principal, tenant_id)
        if not (principal.is_admin or principal.has("tenants:write")):
            raise ForbiddenError("updating a tenant needs tenants:write or admin")
        if data.status is not None and data.status != tenant.status and not principal.is_admin:
            raise ForbiddenError("changing a tenant's status needs the admin scope")
        for key, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
            setattr(tenant, key, value)
        tenant.updated_at = datetime.now(UTC)
        self.session.add(tenant)
        await self.session.flush()
        return tenant

    # -- API clients ---------------------------------------------------------------------------

    async def create_client(self, principal: Principal, data: ApiClientCreate) -> tuple[ApiClient, str]:
        tenant_id = data.tenant_id or principal.tenant_id
        await self.get_tenant(principal, tenant_id)  # 404 for a tenant the caller cannot see
        if not principal.is_admin:
            if not principal.has("tenants:write"):
                raise ForbiddenError("creating API clients needs tenants:write or admin")
            beyond = [s for s in data.scopes if not principal.has(s) or s == scope_names.ADMIN]
            if beyond:
                raise ForbiddenError("a client cannot grant scopes it does not hold: " + ", ".join(beyond))
        secret = tokens.new_client_secret()
        client = ApiClient(
            tenant_id=tenant_id,
            client_id=tokens.new_client_id(),
            name=data.name,
            secret_hash=tokens.hash_secret(secret),
            scopes=scope_names.normalize(data.scopes),
        )
        await self.clients.add(client)
        return client, secret

    async def list_clients(
        self, principal: Principal, page: PageParams, *, tenant_id: uuid.UUID | None = None
    ) -> tuple[Sequence[ApiClient], int]:
        if not principal.is_admin:
            if tenant_id is not None and tenant_id != principal.tenant_id:
                return [], 0
            tenant_id = principal.tenant_id
        return await self.clients.list(tenant_id, page)

    async def get_client(self, principal: Principal, api_client_id: uuid.UUID) -> ApiClient:
        scope_tenant = None if principal.is_admin else principal.tenant_id
        client = await self.clients.get(scope_tenant, api_client_id)
        if client is None:
            raise ApiClientNotFound(f"API client {api_client_id} not found")
        return client

    async def update_client(
        self, principal: Principal, api_client_id: uuid.UUID, data: ApiClientUpdate
    ) -> ApiClient:
        """Change a client's name, scopes or status.

        Rules (REST and GraphQL alike): a caller may change another client only if it holds every
        scope that client holds (write implies read); only an ``admin`` touches an ``admin`` client;
        the last active admin client can be neither disabled nor demoted.
        """
        client = await self.get_client(principal, api_client_id)
        held = list(client.scopes)
        if not principal.is_admin:
            if not principal.has("tenants:write"):
                raise ForbiddenError("changing API clients needs tenants:write or admin")
            if scope_names.ADMIN in held:
                raise ForbiddenError("only an admin client may change an admin client")
            not_held = [s for s in held if not principal.has(s)]
            if not_held:
                raise ForbiddenError(
                    "changing a client needs every scope it holds; the token lacks: " + ", ".join(not_held)
                )
            if data.scopes is not None:
                beyond = [s for s in data.scopes if not principal.has(s) or s == scope_names.ADMIN]
                if beyond:
                    raise ForbiddenError(
                        "a client cannot grant scopes it does not hold: " + ", ".join(beyond)
                    )
        disables = data.status is not None and data.status != "active"
        demotes = data.scopes is not None and scope_names.ADMIN not in data.scopes
        if client.status == "active" and scope_names.ADMIN in held and (disables or demotes):
            # Locks the active admin clients (PostgreSQL) so two admins cannot disarm each other at once.
            admins = await self.clients.active_admin_ids()
            if set(admins) <= {client.id}:
                raise LastAdminClient(
                    "the last active admin client cannot be disabled or lose the admin scope; "
                    "create another admin client first"
                )
        for key, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
            setattr(client, key, value)
        client.updated_at = datetime.now(UTC)
        self.session.add(client)
        await self.session.flush()
        return client

    # -- tokens --------------------------------------------------------------------------------

    async def issue_token(
        self, client_id: str, client_secret: str, requested_scope: str | None
    ) -> tokens.IssuedToken:
        found = await self.clients.get_by_client_id(client_id)
        # Hash even when the client is unknown so that timing does not reveal which ids exist.
        stored_hash = found[0].secret_hash if found else tokens.hash_secret("-")
        if not tokens.verify_secret(client_secret, stored_hash) or found is None:
            raise InvalidClient("unknown client or wrong secret")
        client, tenant = found
        if client.status != "active" or tenant.status != "active":
            raise InvalidClient("the client or its tenant is disabled")
        granted = list(client.scopes)
        if requested_scope:
            wanted = scope_names.parse(requested_scope)
            # write implies read, here as everywhere (scope_names.grants)
            not_held = [s for s in wanted if not scope_names.grants(granted, s)]
            if not_held:
                raise InvalidScope("scopes not granted to this client: " + ", ".join(not_held))
            granted = wanted
        client.last_used_at = datetime.now(UTC)
        self.session.add(client)
        await self.session.flush()
        return tokens.issue_access_token(
            secret=self.settings.token_secret_value(),
            issuer=self.settings.auth.token_issuer,
            audience=self.settings.auth.token_audience,
            ttl_seconds=self.settings.auth.token_ttl_seconds,
            tenant_id=tenant.id,
            api_client_id=client.id,
            client_id=client.client_id,
            scopes=granted,
        )

    async def authenticate(self, token: str) -> Principal:
        try:
            principal = tokens.decode_access_token_cached(
                token,
                secret=self.settings.token_secret_value(),
                issuer=self.settings.auth.token_issuer,
                audience=self.settings.auth.token_audience,
                leeway=self.settings.auth.leeway_seconds,
            )
        except tokens.TokenInvalid as exc:
            raise UnauthorizedError(str(exc)) from exc
        # Re-read on every use: disabling a client or a tenant, or taking scopes away, takes effect at
        # once, not when its tokens expire. The row is cached in-process with invalidation on every
        # committed change of a client or tenant, in any process (service.hotcache).
        invalidation = hotcache.for_session(self.session)
        state = invalidation.get("token_state", principal.api_client_id) if invalidation else None
        if state is None:
            epoch = invalidation.current() if invalidation else None
            state = await self.clients.token_state(principal.api_client_id)
            if invalidation is not None:
                invalidation.put("token_state", principal.api_client_id, epoch, state)
        if state is None or state[:2] != ("active", "active"):
            raise UnauthorizedError("the access token's client or tenant is disabled")
        _client_status, _tenant_status, tenant_id, current = state
        if tenant_id != principal.tenant_id:
            raise UnauthorizedError("the access token's tenant is not its client's tenant")
        kept = frozenset(s for s in principal.scopes if scope_names.grants(current, s))
        return principal if kept == principal.scopes else replace(principal, scopes=kept)


class LastAdminClient(ConflictError):
    code = "last_admin_client"


class InvalidScope(ForbiddenError):
    """OAuth ``invalid_scope``."""

    status = 400
    code = "invalid_scope"
