"""Signing in to the console (one-time link, OpenID Connect single sign-on) and out."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from service.api.deps import ROLLBACK_ONLY, SessionDep, SettingsDep
from service.api.web.console.common import (
    CONSOLE_SSO,
    MAX_FIELD,
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    CsrfField,
    UserDep,
    check_csrf,
    context,
    identity,
    page,
    provider_answer,
    refuse,
    set_cookie,
    signed_in_response,
    to_sign_in,
)
from service.config import Settings
from service.errors import ServiceError
from service.identity.errors import CsrfFailed
from service.identity.service import CONSOLE_PATH, SignedIn, csrf_token
from service.schemas import contains_nul

router = APIRouter(prefix=CONSOLE_PATH, include_in_schema=False)

# -- signing in and out ---------------------------------------------------------------------------


@router.get("", include_in_schema=False)
async def console_root_no_slash() -> RedirectResponse:
    return RedirectResponse(CONSOLE_PATH + "/", status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    tenant: Annotated[str, Query(max_length=63)] = "",
) -> Response:
    if user is not None:
        return RedirectResponse(CONSOLE_PATH + "/", status_code=303)
    # Single sign-on is offered as a link, not a form: a form's navigation may not be redirected to
    # the identity provider under the pages' CSP (form-action 'self').
    sso = await identity(request, session, settings).sso_tenant(tenant) if tenant.strip() else None
    pre = request.cookies.get(PRE_SESSION_COOKIE)
    fresh = pre is None or len(pre) != 43
    if fresh:
        pre = secrets.token_urlsafe(32)
    assert pre is not None
    response = page(
        request,
        "console/sign_in.html",
        {
            "user": None,
            "csrf": csrf_token(settings.token_secret_value(), pre),
            "page_title": "Sign in",
            "tenant": tenant,
            "sso": sso,
            "email": "",
            "error": "",
            "link_minutes": settings.console.link_ttl_seconds // 60,
        },
    )
    if fresh:
        set_cookie(response, settings, PRE_SESSION_COOKIE, pre, max_age=3600, path=CONSOLE_PATH)
    return response


@router.post("/sign-in", response_class=HTMLResponse)
async def request_link(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    tenant: Annotated[str, Form(max_length=63)] = "",
    email: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    csrf_token_field: CsrfField = "",
) -> Response:
    try:
        check_csrf(request, settings, user, csrf_token_field)
    except CsrfFailed as exc:
        return refuse(
            request, session, settings, user, exc, next_steps="Open the sign-in page again and resend."
        )
    tenant, email = tenant.strip(), email.strip()
    # U+0000 cannot reach PostgreSQL text: such input is as wrong as a missing "@".
    if not tenant or "@" not in email or contains_nul([tenant, email]):
        tenant, email = tenant.replace("\x00", ""), email.replace("\x00", "")
        session.info[ROLLBACK_ONLY] = True
        return page(
            request,
            "console/sign_in.html",
            context(
                request,
                settings,
                user,
                page_title="Sign in",
                tenant=tenant,
                sso=None,
                email=email,
                error="Enter your district and your email address, like name@school.org",
                link_minutes=settings.console.link_ttl_seconds // 60,
            ),
            status_code=422,
        )
    await identity(request, session, settings).email_link(tenant, email)
    return page(
        request,
        "console/link_sent.html",
        context(
            request,
            settings,
            user,
            page_title="Check your email",
            tenant=tenant,
            email=email,
            link_minutes=settings.console.link_ttl_seconds // 60,
        ),
    )


@router.get("/sign-in/link/{token}")
async def open_link(
    token: Annotated[str, Depends(lambda token: token[:200])],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    try:
        user = await identity(request, session, settings).redeem_link(token)
    except ServiceError as exc:
        return refuse(
            request, session, settings, None, exc, next_steps="Ask for a new link on the sign-in page."
        )
    return signed_in_response(settings, user)


@router.get("/sso/start")
async def sso_start(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    tenant: Annotated[str, Query(max_length=63)] = "",
) -> Response:
    try:
        start = await identity(request, session, settings).begin_sso(tenant)
    except ServiceError as exc:
        return refuse(request, session, settings, None, exc)
    response = RedirectResponse(start.url, status_code=303)
    CONSOLE_SSO.set(response, settings, start.state)
    return response


@router.get("/sso/callback")
async def sso_callback(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str, Query(max_length=4096)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    service = identity(request, session, settings)
    browser_state, _ = CONSOLE_SSO.read(request)
    try:
        provider_answer(state, code, error)
        user = await service.finish_sso(state=state, code=code, browser_state=browser_state)
    except ServiceError as exc:
        response: Response = refuse(
            request, session, settings, None, exc, next_steps="Start again from the sign-in page."
        )
        CONSOLE_SSO.clear(response)
        return response
    response = signed_in_response(settings, user)
    CONSOLE_SSO.clear(response)
    return response


async def _sign_out(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    user: SignedIn | None,
    submitted: str,
    *,
    everywhere: bool,
) -> Response:
    """Ends this session (or every session of this person) after the form's CSRF check."""
    if user is None:
        return to_sign_in()
    try:
        check_csrf(request, settings, user, submitted)
    except CsrfFailed as exc:
        return refuse(request, session, settings, user, exc)
    service = identity(request, session, settings)
    await (service.sign_out_everywhere(user) if everywhere else service.sign_out(user))
    response = to_sign_in()
    response.delete_cookie(SESSION_COOKIE, path=CONSOLE_PATH)
    return response


@router.post("/sign-out")
async def sign_out(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    csrf_token_field: CsrfField = "",
) -> Response:
    return await _sign_out(request, session, settings, user, csrf_token_field, everywhere=False)


@router.post("/sign-out-everywhere")
async def sign_out_everywhere(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    csrf_token_field: CsrfField = "",
) -> Response:
    return await _sign_out(request, session, settings, user, csrf_token_field, everywhere=True)
