"""Request dependencies as ``Annotated`` aliases: session, settings, principal with scopes, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.routing import APIRoute
from fastapi.security import OAuth2, SecurityScopes
from sqlmodel.ext.asyncio.session import AsyncSession

from service.config import Settings
from service.db import Database, declare_write_intent, discard_after_commit, run_after_commit
from service.errors import (
    BadRequestError,
    FieldError,
    ForbiddenError,
    UnauthorizedError,
    ValidationFailedError,
)
from service.net import client_address
from service.schemas import PageParams
from service.tenancy import scopes as scope_names
from service.tenancy.service import TenancyService
from service.tenancy.tokens import Principal

#: Defaults of PORTRAIT_LIMITS__MAX_PAGE_SIZE / __DEFAULT_PAGE_SIZE (service.config.LimitSettings);
#: requests are bounded by the settings in force, these only name the defaults.
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

#: ``session.info`` key: set by a transport (GraphQL) that must not commit despite no exception.
ROLLBACK_ONLY = "rollback_only"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _settings_dependency(request: Request) -> Settings:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread, a hop per request for nothing.
    return get_settings(request)


SettingsDep = Annotated[Settings, Depends(_settings_dependency)]


def client_ip(request: Request) -> str:
    """The client's address for rate limits, through ``settings.trusted_proxies`` only."""
    return client_address(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        get_settings(request).trusted_proxies,
    )


#: Attribute set by :func:`read_only` on an endpoint function.
READ_ONLY_ROUTE = "__portrait_read_only__"
E = TypeVar("E", bound=Callable[..., Any])


def read_only(endpoint: E) -> E:
    """Marks a GET route whose use case only reads: its session runs without an explicit transaction
    on PostgreSQL (no BEGIN/COMMIT round trips; at READ COMMITTED each statement has its own snapshot
    either way). A write in it is refused (:class:`service.db.ReadOnlySessionWrite`, a 500): mark
    only routes that never write, not even lazily."""
    setattr(endpoint, READ_ONLY_ROUTE, True)
    return endpoint


def _read_only_route(request: Request) -> bool:
    route = request.scope.get("route")
    return getattr(getattr(route, "endpoint", None), READ_ONLY_ROUTE, False) is True


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit before the response is sent, roll back on error."""
    db: Database = request.app.state.db
    writes = request.method not in SAFE_METHODS
    if not writes and _read_only_route(request):
        reads = db.read_sessionmaker()
        if reads is not None:
            async with reads() as session:
                yield session  # nothing to commit; closing returns the connection
            return
    lazy = db.write_sessionmaker() if writes else None
    async with (lazy or db.sessionmaker)() as session:
        if writes and lazy is None:
            await declare_write_intent(session)
        try:
            yield session
        except BaseException:
            discard_after_commit(session)
            await session.rollback()
            raise
        if session.info.get(ROLLBACK_ONLY):
            discard_after_commit(session)
            await session.rollback()
        else:
            await session.commit()
            await run_after_commit(session)


# scope="function": the exit code (the commit) runs before the response is sent.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/oauth/token",
            scopes={s: f"{s} access" for s in scope_names.ALL_SCOPES},
        )
    ),
    scheme_name="oauth2",
    description="OAuth 2.0 client credentials; send the access token as `Authorization: Bearer`.",
    auto_error=False,
)


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise UnauthorizedError("an access token is required (Authorization: Bearer <token>)")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("the Authorization header must use the Bearer scheme")
    return token.strip()


async def authenticate(
    request: Request,
    session: SessionDep,
    authorization: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    # The settings straight from the app, not through SettingsDep: every dependency FastAPI solves costs
    # about as much per request as the token check itself (docs/performance.md).
    token = bearer_token(authorization)
    return await TenancyService(session, get_settings(request)).authenticate(token)


def check_scopes(principal: Principal, required: list[str]) -> None:
    missing = [
        s for s in required if not principal.has(s) and not (s.startswith("tenants:") and principal.is_admin)
    ]
    if missing:
        raise ForbiddenError(f"the access token lacks the scope {' '.join(missing)}")


async def _scoped(
    security_scopes: SecurityScopes, principal: Annotated[Principal, Depends(authenticate)]
) -> Principal:
    check_scopes(principal, security_scopes.scopes)
    return principal


AuthenticatedDep = Annotated[Principal, Depends(authenticate)]
TenantsRead = Annotated[Principal, Security(_scoped, scopes=["tenants:read"])]
TenantsWrite = Annotated[Principal, Security(_scoped, scopes=["tenants:write"])]
RosterRead = Annotated[Principal, Security(_scoped, scopes=["roster:read"])]
RosterWrite = Annotated[Principal, Security(_scoped, scopes=["roster:write"])]
FrameworksRead = Annotated[Principal, Security(_scoped, scopes=["frameworks:read"])]
FrameworksWrite = Annotated[Principal, Security(_scoped, scopes=["frameworks:write"])]
EvidenceReadScope = Annotated[Principal, Security(_scoped, scopes=["evidence:read"])]
EvidenceWriteScope = Annotated[Principal, Security(_scoped, scopes=["evidence:write"])]
AwardsRead = Annotated[Principal, Security(_scoped, scopes=["awards:read"])]
AwardsWrite = Annotated[Principal, Security(_scoped, scopes=["awards:write"])]
AdminDep = Annotated[Principal, Security(_scoped, scopes=["admin"])]


class UnknownQueryParameter(BadRequestError):
    code = "unknown_query_parameter"


_known_query: dict[int, tuple[APIRoute, frozenset[str]]] = {}


def _query_names(route: APIRoute) -> frozenset[str]:
    """Every query parameter the route declares, its dependencies' included."""
    cached = _known_query.get(id(route))
    if cached is not None and cached[0] is route:
        return cached[1]
    names: set[str] = set()
    stack: list[Dependant] = [route.dependant]
    while stack:
        dependant = stack.pop()
        names.update(param.alias for param in dependant.query_params)
        stack.extend(dependant.dependencies)
    known = frozenset(names)
    _known_query[id(route)] = (route, known)
    return known


def reject_unknown_query(request: Request) -> None:
    """A misspelled filter (``?nme=garcia``) is a 400 naming it, never a silently unfiltered list."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _query_names(route)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        accepted = ", ".join(sorted(known))
        raise UnknownQueryParameter(
            f"unknown query parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"this endpoint accepts {accepted}",
            [
                FieldError(
                    f"query.{name}", f"unknown query parameter (accepted: {accepted})", "unknown_parameter"
                )
                for name in unknown
            ],
        )


async def page_params(
    request: Request,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            description=(
                f"items per page: default PORTRAIT_LIMITS__DEFAULT_PAGE_SIZE ({DEFAULT_PAGE_SIZE} unless "
                f"configured), at most PORTRAIT_LIMITS__MAX_PAGE_SIZE ({MAX_PAGE_SIZE} unless configured)"
            ),
        ),
    ] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="items to skip")] = 0,
) -> PageParams:
    """The paging of every list endpoint, bounded by the settings; unknown query parameters are refused
    here, so every list endpoint refuses them the same way."""
    reject_unknown_query(request)
    limits = get_settings(request).limits
    if limit is None:
        limit = min(limits.default_page_size, limits.max_page_size)
    elif limit > limits.max_page_size:
        raise ValidationFailedError(
            f"limit must be at most {limits.max_page_size}",
            [FieldError("query.limit", f"must be at most {limits.max_page_size}", "less_than_equal")],
        )
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]

#: The cursor of every list that also pages by cursor (see :func:`check_cursor`).
AfterQuery = Annotated[
    str | None,
    Query(
        max_length=200,
        description=(
            "cursor paging: the `next` of the page before (same filters); the page starts right "
            "after that item, as fast however deep; not combined with `offset`"
        ),
    ),
]


def check_cursor(after: str | None, page: PageParams) -> None:
    """``after`` (cursor paging) and ``offset`` do not combine: a 400 naming both."""
    if after is not None and page.offset:
        raise BadRequestError(
            "after and offset cannot be combined: a cursor page starts right after the cursor's item",
            [FieldError("query.offset", "must be 0 (or absent) with after", "cursor_with_offset")],
        )
