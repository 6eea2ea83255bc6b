"""The 1EdTech Open Badges 3.0 and CLR 2.0 service APIs for wallets and hosts, and their OAuth 2.0 server.

Each district has its own base URL: ``/ims/ob/v3p0/{tenant}`` and ``/ims/clr/v2p0/{tenant}`` (discovery,
credentials, profile), and its own OAuth 2.0 endpoints under ``/ims/oauth/{tenant}`` (RFC 7591 registration,
authorization code with PKCE S256, token with client_secret_basic, RFC 7009 revocation; the protocol is
Authlib's, see service.wallet.oauth). The discovery
document (an OpenAPI 3.0 service description with the x-imssf extensions) is the contract of these routes,
so they stay out of the service's own OpenAPI document.

Errors of the resource routes are ``Imsx_StatusInfo`` bodies with the OB 3.0 / CLR 2.0 codes; the OAuth
endpoints answer with RFC 6749 / RFC 7591 error objects.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import InvalidClientError, OAuth2Error
from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from service import __version__
from service.api.deps import ROLLBACK_ONLY, SessionDep, SettingsDep
from service.api.problems import ErrorFormat
from service.api.rest.verify import VerificationServiceDep
from service.api.web.templating import SERVICE_NAME, render
from service.config import Settings
from service.credentials.timeutil import parse_datetime
from service.credentials.vc_jwt import looks_like_jwt
from service.errors import ServiceError
from service.jsonio import loads
from service.schemas import contains_nul
from service.wallet import scopes as wallet_scopes
from service.wallet.errors import (
    BadRedirect,
    InvalidClientMetadata,
    InvalidData,
    InvalidQuery,
    InvalidRequest,
    OAuthError,
)
from service.wallet.oauth import UNKNOWN_CLIENT, Call, JsonCall, error_response
from service.wallet.scopes import CLR, OB, Api
from service.wallet.service import WalletService, api_base, oauth_base

logger = logging.getLogger(__name__)

OAUTH_PREFIX = "/ims/oauth"
WALLET_PAGES = "/wallet"
MAX_BODY = 1_000_000
_OPENAPI_FILE = Path(__file__).resolve().parents[2] / "wallet" / "ob_v3p0_openapi.json"

_MINOR_BY_STATUS = {
    400: "invalid_data",
    401: "unauthorizedrequest",
    403: "forbidden",
    404: "not_found",
    405: "not_allowed",
    406: "not_acceptable",
    413: "invalid_data",
    415: "invalid_data",
    422: "invalid_data",
    429: "server_busy",
    500: "internal_server_error",
    503: "server_busy",
}
#: Every answer under these prefixes is the OB 3.0 / CLR 2.0 service API's: errors are Imsx_StatusInfo.
IMSX_PREFIXES = (OB.path + "/", CLR.path + "/")
Slug = Annotated[str, PathParam(max_length=63, pattern=r"^[a-z0-9][a-z0-9-]*$")]


def imsx(
    status: int, description: str, minor: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_codeMinor": {
            "imsx_codeMinorField": [
                {
                    "imsx_codeMinorFieldName": "sourcedId",
                    "imsx_codeMinorFieldValue": minor or _MINOR_BY_STATUS.get(status, "unknown"),
                }
            ]
        },
    }
    return JSONResponse(body, status_code=status, headers=headers)


def imsx_validation(exc: RequestValidationError) -> JSONResponse:
    """Request validation as Imsx_StatusInfo: a path that does not validate names no resource (404); a bad
    query parameter is ``invalid_query_parameter``, anything else (body, headers) ``invalid_data``."""
    errors = list(exc.errors())
    messages = [
        ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "path")) + f": {e.get('msg')}"
        for e in errors
    ]
    where = {str((e.get("loc") or ("",))[0]) for e in errors}
    if "path" in where:
        status, minor = 404, "not_found"
    elif where <= {"query"}:
        status, minor = 400, "invalid_query_parameter"
    else:
        status, minor = 400, "invalid_data"
    return imsx(status, "invalid request: " + "; ".join(messages[:5]), minor)


def _imsx_error(status: int, detail: str, headers: dict[str, str] | None, minor: str | None) -> JSONResponse:
    return imsx(status, detail, minor, headers)


#: Registered with the app's error handlers (service.api.problems): 404 of an unknown path, 405, request
#: validation and body limits under the wallet API prefixes answer Imsx_StatusInfo too.
IMSX_ERRORS = ErrorFormat(IMSX_PREFIXES, _imsx_error, imsx_validation)


class WalletApiRoute(APIRoute):
    """Every failure of a resource route as ``Imsx_StatusInfo`` with the matching status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def imsx_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except ServiceError as exc:
                headers = None
                if exc.status == 401:
                    headers = {
                        "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{exc.detail}"'
                    }
                elif exc.status == 403:
                    headers = {"WWW-Authenticate": 'Bearer error="insufficient_scope"'}
                return imsx(exc.status, exc.detail, getattr(exc, "imsx_minor", None), headers)
            except RequestValidationError as exc:
                return imsx_validation(exc)
            except StarletteHTTPException as exc:
                return imsx(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))
            except Exception:
                logger.exception("unhandled error in the wallet API")
                return imsx(500, "an internal error occurred", "internal_server_error")

        return imsx_handler


class OAuthRoute(APIRoute):
    """Every failure of an OAuth endpoint before Authlib answers it (an unknown district, a body that is not a
    form or not JSON) as an RFC 6749 error object, never cached."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def oauth_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except ServiceError as exc:
                code = exc.code if isinstance(exc, OAuthError) else "invalid_request"
                status = exc.status if isinstance(exc, OAuthError) else (404 if exc.status == 404 else 400)
                headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
                return JSONResponse({"error": code, "error_description": exc.detail}, status, headers=headers)
            except RequestValidationError:
                return JSONResponse(
                    {"error": "invalid_request", "error_description": "malformed request"}, 400
                )

        return oauth_handler


class AuthorizeRoute(APIRoute):
    """The authorization endpoint is a browser step: a district that does not exist (or a path that cannot
    name one) is an HTML page saying so, not an OAuth JSON object. Other refusals the endpoint handles
    itself (see ``authorize``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except (ServiceError, RequestValidationError) as exc:
                status = exc.status if isinstance(exc, ServiceError) else 404
                slug = str(request.path_params.get("tenant", ""))[:63]
                if status == 404:
                    heading = "No such school district"
                    detail = (
                        f"There is no district called \u201c{slug}\u201d on {SERVICE_NAME}, so a wallet "
                        "cannot connect to it here."
                    )
                    advice = (
                        "The link your wallet app opened is wrong or out of date. Check the address of your "
                        "school's service in the wallet app, or ask your school for it."
                    )
                else:
                    heading = "This wallet's request cannot be used"
                    detail = exc.detail if isinstance(exc, ServiceError) else "the request is malformed"
                    advice = None
                return render(
                    request,
                    "wallet/error.html",
                    {
                        "page_title": heading,
                        "heading": heading,
                        "detail": detail,
                        "advice": advice,
                        "user": None,
                        "csrf": "",
                    },
                    status_code=status,
                    headers={"Cache-Control": "no-store"},
                )

        return page_handler


api_router = APIRouter(include_in_schema=False, route_class=WalletApiRoute)
oauth_router = APIRouter(prefix=OAUTH_PREFIX, include_in_schema=False, route_class=OAuthRoute)


def wallet_service(
    request: Request, session: SessionDep, settings: SettingsDep
) -> Callable[[str], Coroutine[Any, Any, WalletService]]:
    async def make(slug: str) -> WalletService:
        return await WalletService.for_slug(
            session, settings, slug, mailer=getattr(request.app.state, "mailer", None)
        )

    return make


ServiceFactory = Annotated[Callable[[str], Coroutine[Any, Any, WalletService]], Depends(wallet_service)]


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise StarletteHTTPException(413, f"the body exceeds {MAX_BODY} bytes")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise StarletteHTTPException(413, f"the body exceeds {MAX_BODY} bytes")
    return body


async def _form(request: Request) -> list[tuple[str, str]]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise InvalidRequest("the body must be application/x-www-form-urlencoded")
    raw = (await _body(request)).decode("utf-8", "replace")
    form: dict[str, str] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        if key in form:
            raise InvalidRequest(f"the parameter {key} is repeated")
        form[key] = value
    return list(form.items())


# -- discovery -------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _official_openapi() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(_OPENAPI_FILE.read_text(encoding="utf-8"))
    return document


def discovery_document(settings: Settings, api: Api, slug: str, tenant_name: str) -> dict[str, Any]:
    """The Service Description Document: the official OpenAPI file profiled for this district."""
    base, oauth = api_base(settings, api, slug), oauth_base(settings, slug)
    document = copy.deepcopy(_official_openapi())
    descriptions = (
        wallet_scopes.OB_SCOPE_DESCRIPTIONS if api.key == "ob" else wallet_scopes.CLR_SCOPE_DESCRIPTIONS
    )
    if api.key == "clr":
        document = _clr_profile(document)
    document["info"].update(
        {
            "title": f"{tenant_name} ({SERVICE_NAME}): {api.title}",
            "version": "3.0" if api.key == "ob" else "2.0",
            "termsOfService": settings.wallet.terms_of_service_url or f"{settings.public_url}/",
            "x-imssf-privacyPolicyUrl": settings.wallet.privacy_policy_url or f"{settings.public_url}/",
            "x-imssf-image": f"{settings.public_url}/static/favicon.svg",
            "description": f"{api.title} service of {tenant_name}, hosted by {SERVICE_NAME} {__version__}.",
        }
    )
    document["servers"] = [{"url": base, "description": f"{tenant_name} on {SERVICE_NAME}"}]
    document["components"]["securitySchemes"] = {
        "OAuth2ACG": {
            "type": "oauth2",
            "description": "OAuth 2.0 authorization code grant with PKCE (S256); dynamic registration.",
            "x-imssf-registrationUrl": f"{oauth}/register",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": f"{oauth}/authorize",
                    "tokenUrl": f"{oauth}/token",
                    "refreshUrl": f"{oauth}/token",
                    "x-imssf-revocationUrl": f"{oauth}/revoke",
                    "scopes": dict(descriptions),
                }
            },
        }
    }
    return document


def _clr_profile(document: dict[str, Any]) -> dict[str, Any]:
    """The CLR 2.0 API is the same service with ClrCredentials and the CLR scope URIs."""
    text = json.dumps(document)
    text = text.replace(
        "https://purl.imsglobal.org/spec/ob/v3p0/scope/", "https://purl.imsglobal.org/spec/clr/v2p0/scope/"
    )
    text = text.replace("GetOpenBadgeCredentialsResponse", "GetClrCredentialsResponse")
    text = text.replace("OpenBadgeCredentials", "ClrCredentials")
    out: dict[str, Any] = json.loads(text)
    out["info"]["title"] = "OpenAPI schema for Comprehensive Learner Record"
    out["info"]["x-model-pid"] = "org.1edtech.clr.v2p0.model"
    out["info"]["x-service-pid"] = "org.1edtech.clr.v2p0.rest.servicemodel"
    return out


def _add_api_routes(api: Api) -> None:
    prefix = api.path + "/{tenant}"

    @api_router.get(prefix + "/discovery", name=f"{api.key}_discovery")
    async def discovery(tenant: Slug, make: ServiceFactory, settings: SettingsDep) -> JSONResponse:
        service = await make(tenant)
        return JSONResponse(discovery_document(settings, api, service.tenant.slug, service.tenant.name))

    @api_router.get(prefix + "/credentials", name=f"{api.key}_get_credentials")
    async def get_credentials(
        request: Request, tenant: Slug, make: ServiceFactory, settings: SettingsDep
    ) -> JSONResponse:
        service = await make(tenant)
        bearer = await service.bearer(request.headers.get("authorization"), api.read)
        limit, offset, since = _paging(request, settings)
        listed = await service.list_credentials(api, bearer.person, limit=limit, offset=offset, since=since)
        body: dict[str, Any] = {}
        if listed.credentials:
            body["credential"] = listed.credentials
        if listed.jws:
            body["compactJwsString"] = listed.jws
        url = f"{api_base(settings, api, service.tenant.slug)}/credentials"
        headers = {"X-Total-Count": str(listed.total), "Cache-Control": "no-store"}
        link = link_header(url, request.query_params.get("since"), limit, offset, listed.total)
        if link:
            headers["Link"] = link
        return JSONResponse(body, headers=headers)

    @api_router.post(prefix + "/credentials", name=f"{api.key}_upsert_credential")
    async def upsert_credential(
        request: Request, tenant: Slug, make: ServiceFactory, verifier: VerificationServiceDep
    ) -> Response:
        service = await make(tenant)
        bearer = await service.bearer(request.headers.get("authorization"), api.upsert)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = await _body(request)
        body: dict[str, Any] | str
        if media == "text/plain":
            text = raw.decode("utf-8", "replace").strip()
            if not looks_like_jwt(text):
                raise InvalidData("a text/plain body must be a credential in compact JWS format")
            body = text
        elif media in ("application/json", "application/ld+json", "application/vc+ld+json"):
            value = loads(raw)
            if not isinstance(value, dict):
                raise InvalidData("the body must be a credential (a JSON object)")
            body = value
        else:
            raise StarletteHTTPException(
                415, "send the credential as application/json or text/plain (compact JWS)"
            )
        result = await service.upsert(api, bearer.person, body, verifier.verify)
        if not result.created and not result.replaced:
            return Response(status_code=304)
        status = 201 if result.created else 200
        if isinstance(result.body, str):
            return PlainTextResponse(result.body, status_code=status)
        return JSONResponse(result.body, status_code=status)

    @api_router.get(prefix + "/profile", name=f"{api.key}_get_profile")
    async def get_profile(request: Request, tenant: Slug, make: ServiceFactory) -> JSONResponse:
        service = await make(tenant)
        bearer = await service.bearer(request.headers.get("authorization"), api.profile_read)
        return JSONResponse(await service.profile(api, bearer.person), headers={"Cache-Control": "no-store"})

    @api_router.put(prefix + "/profile", name=f"{api.key}_put_profile")
    async def put_profile(request: Request, tenant: Slug, make: ServiceFactory) -> JSONResponse:
        service = await make(tenant)
        bearer = await service.bearer(request.headers.get("authorization"), api.profile_update)
        body = loads(await _body(request))
        return JSONResponse(await service.put_profile(api, bearer.person, body))


def _paging(request: Request, settings: Settings) -> tuple[int, int, datetime | None]:
    params = request.query_params
    wallet = settings.wallet
    try:
        limit = int(params.get("limit", wallet.default_page_size))
        offset = int(params.get("offset", 0))
    except ValueError:
        raise InvalidQuery("limit and offset must be integers") from None
    if limit < 1 or offset < 0:
        raise InvalidQuery("limit must be at least 1 and offset at least 0")
    since = None
    if params.get("since"):
        try:
            since = parse_datetime(params["since"])
        except ValueError:
            raise InvalidQuery("since must be an ISO 8601 date and time, like 2026-01-31T12:00:00Z") from None
    return min(limit, wallet.max_page_size), offset, since


def link_header(url: str, since: str | None, limit: int, offset: int, total: int) -> str:
    """RFC 8288 links to the first, last, next and previous pages (next/prev only where they exist)."""

    def page(at: int) -> str:
        query = {"limit": str(limit), "offset": str(at)}
        if since:
            query["since"] = since
        return f"{url}?{urlencode(query)}"

    last = max(0, ((total - 1) // limit) * limit) if total else 0
    links = [f'<{page(0)}>; rel="first"', f'<{page(last)}>; rel="last"']
    if offset + limit < total:
        links.append(f'<{page(offset + limit)}>; rel="next"')
    if offset > 0:
        links.append(f'<{page(max(0, offset - limit))}>; rel="prev"')
    return ", ".join(links)


for _api in (OB, CLR):
    _add_api_routes(_api)


# -- OAuth 2.0 -------------------------------------------------------------------------------------


def _call(request: Request, service: WalletService, what: str, items: list[tuple[str, str]]) -> Call:
    """The request as Authlib reads it, at the district's public URL."""
    url = f"{oauth_base(service.settings, service.tenant.slug)}/{what}"
    return Call(request.method, url, request.headers, items)


@oauth_router.post("/{tenant}/register")
async def register(request: Request, tenant: Slug, make: ServiceFactory) -> Response:
    """RFC 7591 dynamic client registration (Authlib's registration endpoint)."""
    service = await make(tenant)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise InvalidClientMetadata("the registration request must be application/json")
    try:
        metadata = loads(await _body(request))
    except ServiceError as exc:
        raise InvalidClientMetadata(exc.detail) from None
    if not isinstance(metadata, dict):
        raise InvalidClientMetadata("the registration request must be a JSON object")
    url = f"{oauth_base(service.settings, service.tenant.slug)}/register"
    return await service.oauth.register(JsonCall(url, request.headers, metadata))


def _refused_page(request: Request, detail: str) -> Response:
    title = BadRedirect.title
    return render(
        request,
        "wallet/error.html",
        {"page_title": title, "heading": title, "detail": detail, "user": None, "csrf": ""},
        status_code=400,
        headers={"Cache-Control": "no-store"},
    )


async def authorize(
    request: Request, tenant: Slug, session: SessionDep, settings: SettingsDep, make: ServiceFactory
) -> Response:
    """The authorization endpoint: Authlib checks the request, then the learner goes to the sign-in and
    consent pages. An untrusted client or redirect_uri is shown to the learner, never redirected to."""
    service = await make(tenant)
    items = [(k, v[:2048]) for k, v in request.query_params.multi_items()]
    if contains_nul(items):
        session.info[ROLLBACK_ONLY] = True
        return _refused_page(request, "the request holds a NUL character (U+0000)")
    try:
        pending = await service.begin_authorization(_call(request, service, "authorize", items))
    except OAuth2Error as exc:
        session.info[ROLLBACK_ONLY] = True
        if exc.redirect_uri:
            target = add_params_to_uri(exc.redirect_uri, exc.get_body())
            return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
        unknown = isinstance(exc, InvalidClientError)
        return _refused_page(request, UNKNOWN_CLIENT if unknown else exc.description or exc.error)
    return RedirectResponse(f"{WALLET_PAGES}/authorize/{service.tenant.slug}/{pending.id}", status_code=303)


oauth_router.add_api_route(
    "/{tenant}/authorize",
    authorize,
    methods=["GET"],
    name="oauth_authorize",
    route_class_override=AuthorizeRoute,
)


@oauth_router.post("/{tenant}/token")
async def token(request: Request, tenant: Slug, make: ServiceFactory) -> Response:
    """RFC 6749 token endpoint (Authlib's grants): authorization_code with the PKCE verifier, and
    refresh_token."""
    service = await make(tenant)
    form = await _form(request)
    try:
        call = _call(request, service, "token", form)
    except OAuth2Error as exc:
        return error_response(exc)
    return await service.oauth.token(call)


@oauth_router.post("/{tenant}/revoke")
async def revoke(request: Request, tenant: Slug, make: ServiceFactory) -> Response:
    """RFC 7009 token revocation (Authlib's revocation endpoint): 200 whether or not the token was known."""
    service = await make(tenant)
    form = await _form(request)
    try:
        call = _call(request, service, "revoke", form)
    except OAuth2Error as exc:
        return error_response(exc)
    return await service.oauth.revoke(call)


__all__ = ["IMSX_ERRORS", "api_router", "discovery_document", "link_header", "oauth_router"]
