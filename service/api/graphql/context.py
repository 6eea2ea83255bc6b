"""Per-request GraphQL context: the request's session and settings, the caller, dataloaders."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Annotated, TypeAlias, TypeVar

import strawberry
from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.fastapi import BaseContext

from service.api.deps import SettingsDep, bearer_token, check_scopes, get_session
from service.api.graphql.dataloaders import AwardLoaders, FrameworkLoaders, RosterLoaders
from service.awards.service import AwardService
from service.config import Settings
from service.errors import UnauthorizedError
from service.evidence.service import EvidenceService
from service.frameworks.service import FrameworkService
from service.logging import request_id_var
from service.roster.service import RosterService
from service.tenancy.service import TenancyService
from service.tenancy.tokens import Principal

T = TypeVar("T")


class Context(BaseContext):
    """What every resolver gets as ``info.context``.

    One ``AsyncSession`` serves the whole request and it does not allow concurrent use, while
    GraphQL resolves sibling fields concurrently: every database call of a resolver or loader
    runs under ``db_lock``. Never await a dataloader while holding it (the loader needs it too).
    """

    def __init__(
        self, session: AsyncSession | None, settings: Settings, principal: Principal | None, request_id: str
    ) -> None:
        super().__init__()
        self._session = session
        self.settings = settings
        self.principal = principal
        self.request_id = request_id
        self.db_lock = asyncio.Lock()
        self._loaders: dict[uuid.UUID, RosterLoaders] = {}
        self._framework_loaders: dict[uuid.UUID, FrameworkLoaders] = {}
        self._award_loaders: dict[uuid.UUID, AwardLoaders] = {}

    @property
    def session(self) -> AsyncSession:
        """The request's session; a request without a token has none (it can only introspect)."""
        if self._session is None:
            raise UnauthorizedError("an access token is required (Authorization: Bearer <token>)")
        return self._session

    @property
    def has_session(self) -> bool:
        return self._session is not None

    def require(self, *scopes: str) -> Principal:
        """The caller, if authenticated and holding ``scopes`` (same rules as REST)."""
        if self.principal is None:
            raise UnauthorizedError("an access token is required (Authorization: Bearer <token>)")
        check_scopes(self.principal, list(scopes))
        return self.principal

    def tenancy(self) -> TenancyService:
        return TenancyService(self.session, self.settings)

    def roster(self, principal: Principal) -> RosterService:
        return RosterService(self.session, principal.tenant_id)

    def loaders(self, principal: Principal) -> RosterLoaders:
        """The request's roster loaders, scoped to the caller's tenant."""
        loaders = self._loaders.get(principal.tenant_id)
        if loaders is None:
            loaders = RosterLoaders(self.roster(principal), self.db_lock)
            self._loaders[principal.tenant_id] = loaders
        return loaders

    async def write(self, call: Awaitable[T]) -> T:
        """Run one service write under ``db_lock``, then forget the loaders' cached rows."""
        async with self.db_lock:
            result = await call
        self.forget_loaders()
        return result

    def forget_loaders(self) -> None:
        """After a write: later reads of the same request must not see rows cached before it."""
        self._loaders.clear()
        self._framework_loaders.clear()
        self._award_loaders.clear()

    def frameworks(self, principal: Principal) -> FrameworkService:
        return FrameworkService(self.session, principal.tenant_id)

    def evidence(self, principal: Principal) -> EvidenceService:
        return EvidenceService(self.session, principal.tenant_id)

    def awards(self, principal: Principal) -> AwardService:
        return AwardService(self.session, principal.tenant_id)

    def framework_loaders(self, principal: Principal) -> FrameworkLoaders:
        """The request's framework loaders, scoped to the caller's tenant."""
        loaders = self._framework_loaders.get(principal.tenant_id)
        if loaders is None:
            loaders = FrameworkLoaders(self.frameworks(principal), self.db_lock)
            self._framework_loaders[principal.tenant_id] = loaders
        return loaders

    def award_loaders(self, principal: Principal) -> AwardLoaders:
        """The request's achievement and evidence loaders, scoped to the caller's tenant."""
        loaders = self._award_loaders.get(principal.tenant_id)
        if loaders is None:
            loaders = AwardLoaders(self.awards(principal), self.evidence(principal), self.db_lock)
            self._award_loaders[principal.tenant_id] = loaders
        return loaders


Info: TypeAlias = strawberry.Info[Context, None]


async def graphql_session(request: Request) -> AsyncIterator[AsyncSession | None]:
    """The request's session, the same as REST's (:func:`service.api.deps.get_session`, or what the
    application put in its place, called with the request), but only for a request with a token.

    A request without one can only introspect or be told it is unauthenticated: it takes no database
    connection and opens no transaction (on SQLite a POST's transaction takes the write lock), so an
    anonymous client sending GraphQL costs the database nothing.
    """
    if request.headers.get("authorization") is None:
        yield None
        return
    provider = request.app.dependency_overrides.get(get_session, get_session)
    async with asynccontextmanager(provider)(request) as session:
        yield session


async def get_context(
    request: Request,
    session: Annotated[AsyncSession | None, Depends(graphql_session, scope="function")],
    settings: SettingsDep,
) -> Context:
    """FastAPI dependency: the same session (one transaction) and bearer tokens as REST.

    No Authorization header: anonymous, without a session (resolvers that need a caller answer
    UNAUTHENTICATED). A header that is malformed, invalid or expired: HTTP 401 with a problem
    document, like REST.
    """
    authorization = request.headers.get("authorization")
    principal = None
    if authorization is not None and session is not None:
        principal = await TenancyService(session, settings).authenticate(bearer_token(authorization))
    return Context(session, settings, principal, request_id_var.get())
