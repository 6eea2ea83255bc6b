"""OAuth 2.0 token endpoint (client credentials grant, RFC 6749 section 4.4)."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from service.api.deps import SessionDep, SettingsDep, client_ip
from service.api.problems import problem_body
from service.api.rest import examples
from service.config import Settings
from service.errors import ServiceError
from service.tenancy.schemas import TokenResponse
from service.tenancy.service import TenancyService
from service.verification.ratelimit import Limiter, make_limiter

router = APIRouter(tags=["oauth"])

_FORM_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                        "scope": {"type": "string", "description": "space-separated subset"},
                    },
                }
            }
        },
    }
}


def _oauth_error(status: int, error: str, description: str, *, basic: bool = False) -> JSONResponse:
    # RFC 6749 members for OAuth clients, RFC 9457 members for everyone else.
    body: dict[str, Any] = problem_body(status, error, description)
    body["error"] = error
    body["error_description"] = description
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="portrait"' if basic else 'Bearer realm="portrait"'
    return JSONResponse(body, status_code=status, headers=headers)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return ("", "")
    # RFC 6749 2.3.1: both parts are form-urlencoded before base64.
    return unquote_plus(client_id), unquote_plus(secret)


async def _throttle(request: Request, settings: Settings, client_id: str) -> int | None:
    """Seconds to wait when this client id or this client IP asked too often, else None.

    Both are counted (guessing secrets of one client from many IPs, or of many clients from one IP).
    """
    limiter: Limiter | None = getattr(request.app.state, "token_rate_limiter", None)
    if limiter is None:
        limiter = make_limiter(
            request.app.state,
            settings,
            "token",
            settings.auth.token_rate_per_minute,
            settings.auth.token_rate_burst,
            10_000,
        )
        request.app.state.token_rate_limiter = limiter
    ip = client_ip(request)
    taken = (await limiter.acquire("client:" + client_id), await limiter.acquire("ip:" + ip))
    waits = [w for w in taken if w is not None]
    return int(max(waits)) if waits else None


@router.post(
    "/oauth/token",
    summary="Get an access token (client credentials)",
    response_model=TokenResponse,
    openapi_extra=examples.merged(_FORM_SCHEMA, examples.TOKEN),
    responses={
        400: {"description": "invalid_request, unsupported_grant_type or invalid_scope"},
        401: {"description": "invalid_client"},
        429: {"description": "too many token requests for this client id or from this IP"},
    },
)
async def token(request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """The OAuth 2.0 client-credentials grant: the client id and secret (HTTP Basic, or the
    ``client_id``/``client_secret`` form fields) buy a short-lived bearer token for the client's district,
    with its scopes or the subset asked for in ``scope``. Send it as ``Authorization: Bearer <token>``."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return _oauth_error(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
    try:
        form = await request.form(max_files=0, max_fields=20)
    except Exception:
        return _oauth_error(400, "invalid_request", "the form body cannot be parsed")
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    grant_type = fields.get("grant_type")
    if not grant_type:
        return _oauth_error(400, "invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only the client_credentials grant is supported")
    basic = _basic_credentials(request.headers.get("authorization", ""))
    if basic is not None:
        client_id, client_secret = basic
    else:
        client_id, client_secret = fields.get("client_id", ""), fields.get("client_secret", "")
    if not client_id or not client_secret:
        return _oauth_error(
            401, "invalid_client", "client credentials are required (HTTP Basic or form)", basic=True
        )
    if len(client_id) > 256 or len(client_secret) > 256:
        return _oauth_error(401, "invalid_client", "unknown client or wrong secret", basic=basic is not None)
    retry_after = await _throttle(request, settings, client_id)
    if retry_after is not None:
        response = _oauth_error(
            429, "too_many_requests", f"too many token requests; retry in {retry_after} s"
        )
        response.headers["Retry-After"] = str(retry_after)
        return response
    try:
        issued = await TenancyService(session, settings).issue_token(
            client_id, client_secret, fields.get("scope")
        )
    except ServiceError as exc:
        return _oauth_error(exc.status, exc.code, exc.detail, basic=basic is not None)
    body = TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in, scope=issued.scope)
    return JSONResponse(body.model_dump(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
