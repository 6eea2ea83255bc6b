"""Pages learners see when they connect a wallet: sign-in by one-time link, the consent page, and
"My connected wallets" where they disconnect one.

The learner's session is a server-side session row (service.identity's table, method ``learner``) named by
its own cookie on ``/wallet``; staff console sessions never count here, and learner sessions never open the
console. Every form carries a CSRF token bound to the session (or pre-session) cookie.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from service.api.deps import ROLLBACK_ONLY, SessionDep, SettingsDep
from service.api.web.console.common import (
    MAX_FIELD,
    CsrfField,
    SsoCookie,
    oidc_client,
    provider_answer,
    set_cookie,
)
from service.api.web.headers import DEFAULT_CSP
from service.api.web.images import safe_image_src
from service.api.web.templating import render
from service.config import Settings
from service.errors import ServiceError
from service.identity.service import csrf_matches, csrf_token
from service.schemas import contains_nul
from service.wallet import scopes as wallet_scopes
from service.wallet.service import WALLET_PATH, Learner, WalletService
from service.wallet.sso import LearnerSso

router = APIRouter(prefix=WALLET_PATH, include_in_schema=False)

COOKIE = "portrait_wallet"
PRE_COOKIE = "portrait_wallet_pre"
WALLET_SSO = SsoCookie("portrait_wallet_sso", WALLET_PATH + "/sso")


def learner_sso(request: Request, session: AsyncSession, settings: Settings) -> LearnerSso:
    return LearnerSso(session, settings, oidc_client(request, settings))


async def current(request: Request, session: SessionDep) -> Learner | None:
    return await WalletService.resume(session, request.cookies.get(COOKIE))


LearnerDep = Annotated[Learner | None, Depends(current)]


def _binding(request: Request, user: Learner | None) -> str:
    return user.token if user else request.cookies.get(PRE_COOKIE) or ""


def _csrf(request: Request, settings: Settings, user: Learner | None, pre: str | None = None) -> str:
    bound = pre or _binding(request, user)
    return csrf_token(settings.token_secret_value(), bound) if bound else ""


def _check_csrf(request: Request, settings: Settings, user: Learner | None, submitted: str) -> bool:
    bound = _binding(request, user)
    return bool(bound) and csrf_matches(settings.token_secret_value(), bound, submitted)


def _page(
    request: Request, name: str, values: dict[str, Any], *, status_code: int = 200, csp: str | None = None
) -> HTMLResponse:
    headers = {"Cache-Control": "no-store"}
    if csp:
        headers["Content-Security-Policy"] = csp
    return render(request, f"wallet/{name}", values, status_code=status_code, headers=headers)


def _refuse(
    request: Request,
    session: AsyncSession,
    user: Learner | None,
    settings: Settings,
    heading: str,
    detail: str,
    status: int,
) -> HTMLResponse:
    session.info[ROLLBACK_ONLY] = True
    return _page(
        request,
        "error.html",
        {
            "page_title": heading,
            "heading": heading,
            "detail": detail,
            "user": user,
            "csrf": _csrf(request, settings, user),
        },
        status_code=status,
    )


def _sign_in_page(
    request: Request,
    settings: Settings,
    *,
    tenant: str,
    tenant_name: str = "",
    client: Any = None,
    next_id: str = "",
    email: str = "",
    error: str = "",
    status_code: int = 200,
    sso: bool = False,
) -> HTMLResponse:
    pre = request.cookies.get(PRE_COOKIE)
    fresh = pre is None or len(pre) != 43
    if fresh:
        pre = secrets.token_urlsafe(32)
    assert pre is not None
    response = _page(
        request,
        "sign_in.html",
        {
            "page_title": "Sign in",
            "user": None,
            "csrf": csrf_token(settings.token_secret_value(), pre),
            "tenant": tenant,
            "tenant_name": tenant_name,
            "client": client,
            "next": next_id,
            "email": email,
            "error": error,
            "sso": sso,
            "link_minutes": settings.console.link_ttl_seconds // 60,
        },
        status_code=status_code,
    )
    if fresh:
        set_cookie(response, settings, PRE_COOKIE, pre, max_age=3600, path=WALLET_PATH)
    return response


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(
    request: Request,
    settings: SettingsDep,
    user: LearnerDep,
    tenant: Annotated[str, Query(max_length=63)] = "",
) -> Response:
    if user is not None:
        return RedirectResponse(WALLET_PATH + "/connections", status_code=303)
    return _sign_in_page(request, settings, tenant=tenant)


@router.post("/sign-in", response_class=HTMLResponse)
async def request_link(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LearnerDep,
    tenant: Annotated[str, Form(max_length=63)] = "",
    email: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    next_id: Annotated[str, Form(alias="next", max_length=36)] = "",
    csrf_token_field: CsrfField = "",
) -> Response:
    if not _check_csrf(request, settings, user, csrf_token_field):
        return _refuse(
            request,
            session,
            user,
            settings,
            "Form expired",
            "This form has expired. Open the page again and resend.",
            403,
        )
    tenant, email = tenant.strip().lower(), email.strip()
    next_uuid = _uuid(next_id)
    if not tenant or "@" not in email or contains_nul([tenant, email]):
        session.info[ROLLBACK_ONLY] = True
        return _sign_in_page(
            request,
            settings,
            tenant=tenant.replace("\x00", ""),
            next_id=next_id if next_uuid else "",
            email=email.replace("\x00", ""),
            error="Enter your district and your school email address, like name@school.org",
            status_code=422,
        )
    try:
        service = await WalletService.for_slug(
            session, settings, tenant, mailer=getattr(request.app.state, "mailer", None)
        )
        await service.email_link(email, next_uuid)
    except ServiceError:
        pass  # the page says the same either way: it does not tell who is on the roster
    return _page(
        request,
        "link_sent.html",
        {
            "page_title": "Check your email",
            "user": user,
            "csrf": _csrf(request, settings, user),
            "email": email,
            "link_minutes": settings.console.link_ttl_seconds // 60,
        },
    )


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@router.get("/sign-in/link/{token}")
async def open_link(
    token: Annotated[str, Depends(lambda token: token[:200])],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    next_id: Annotated[str, Query(alias="next", max_length=36)] = "",
) -> Response:
    try:
        learner = await WalletService.redeem_link(session, settings, token)
    except ServiceError as exc:
        return _refuse(request, session, None, settings, exc.title, exc.detail, exc.status)
    next_uuid = _uuid(next_id)
    target = (
        f"{WALLET_PATH}/authorize/{learner.tenant.slug}/{next_uuid}"
        if next_uuid
        else WALLET_PATH + "/connections"
    )
    response = RedirectResponse(target, status_code=303)
    set_cookie(
        response, settings, COOKIE, learner.token, max_age=settings.wallet.session_seconds, path=WALLET_PATH
    )
    response.delete_cookie(PRE_COOKIE, path=WALLET_PATH)
    return response


@router.get("/authorize/{tenant}/{auth_id}", response_class=HTMLResponse)
async def consent_page(
    tenant: Annotated[str, Depends(lambda tenant: tenant[:63])],
    auth_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LearnerDep,
) -> Response:
    try:
        service = await WalletService.for_slug(session, settings, tenant)
        pending, client = await service.pending(auth_id)
    except ServiceError as exc:
        return _refuse(request, session, user, settings, exc.title, exc.detail, exc.status)
    if user is None or user.tenant.id != service.tenant.id:
        sso = await learner_sso(request, session, settings).provider_row(service.tenant) is not None
        return _sign_in_page(
            request,
            settings,
            tenant=service.tenant.slug,
            tenant_name=service.tenant.name,
            client=client,
            next_id=str(auth_id),
            sso=sso,
        )
    origin = urlsplit(pending.redirect_uri)
    # The decision redirects to the wallet: the form's CSP must allow that navigation.
    csp = DEFAULT_CSP.replace("form-action 'self'", f"form-action 'self' {origin.scheme}://{origin.netloc}")
    return _page(
        request,
        "consent.html",
        {
            "page_title": f"Connect {client.client_name}",
            "user": user,
            "csrf": _csrf(request, settings, user),
            "client": client,
            "logo": safe_image_src(client.logo_uri),
            "scope_words": [wallet_scopes.plain_words(s) for s in pending.scopes],
            "auth_id": auth_id,
            "return_host": origin.netloc,
        },
        csp=csp,
    )


@router.post("/authorize/{tenant}/{auth_id}")
async def decide(
    tenant: Annotated[str, Depends(lambda tenant: tenant[:63])],
    auth_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LearnerDep,
    decision: Annotated[str, Form(max_length=16)] = "",
    csrf_token_field: CsrfField = "",
) -> Response:
    if user is None:
        return RedirectResponse(f"{WALLET_PATH}/authorize/{tenant}/{auth_id}", status_code=303)
    if not _check_csrf(request, settings, user, csrf_token_field):
        return _refuse(
            request,
            session,
            user,
            settings,
            "Form expired",
            "This form has expired. Open the page again.",
            403,
        )
    if decision not in ("approve", "deny"):
        return _refuse(
            request, session, user, settings, "Choose an answer", "Choose Allow or Do not allow.", 422
        )
    try:
        service = await WalletService.for_slug(session, settings, tenant)
        if service.tenant.id != user.tenant.id:
            return _refuse(
                request,
                session,
                user,
                settings,
                "Wrong district",
                "This request is for another district.",
                403,
            )
        target = await service.decide(auth_id, user, decision == "approve")
    except ServiceError as exc:
        return _refuse(request, session, user, settings, exc.title, exc.detail, exc.status)
    return RedirectResponse(target, status_code=303)


@router.get("/connections", response_class=HTMLResponse)
async def connections(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LearnerDep,
    disconnected: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    if user is None:
        return RedirectResponse(WALLET_PATH + "/sign-in", status_code=303)
    service = WalletService(session, settings, user.tenant)
    return _page(
        request,
        "connections.html",
        {
            "page_title": "My connected wallets",
            "user": user,
            "csrf": _csrf(request, settings, user),
            "connections": await service.connections(user.person),
            "words_of": lambda scopes: [wallet_scopes.plain_words(s) for s in scopes],
            "disconnected": disconnected,
        },
    )


@router.post("/connections/{consent_id}/disconnect")
async def disconnect(
    consent_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LearnerDep,
    csrf_token_field: CsrfField = "",
) -> Response:
    if user is None:
        return RedirectResponse(WALLET_PATH + "/sign-in", status_code=303)
    if not _check_csrf(request, settings, user, csrf_token_field):
        return _refuse(
            request,
            session,
            user,
            settings,
            "Form expired",
            "This form has expired. Open the page again.",
            403,
        )
    try:
        client = await WalletService(session, settings, user.tenant).disconnect(user.person, consent_id)
    except ServiceError as exc:
        return _refuse(request, session, user, settings, exc.title, exc.detail, exc.status)
    return RedirectResponse(
        f"{WALLET_PATH}/connections?{urlencode({'disconnected': client.client_name})}", status_code=303
    )


@router.post("/sign-out")
async def sign_out(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: LearnerDep,
    csrf_token_field: CsrfField = "",
) -> Response:
    if user is not None and _check_csrf(request, settings, user, csrf_token_field):
        await WalletService.sign_out(session, user)
    response = RedirectResponse(WALLET_PATH + "/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path=WALLET_PATH)
    return response


@router.get("/sso/start")
async def sso_start(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    tenant: Annotated[str, Query(max_length=63)] = "",
    next_id: Annotated[str, Query(alias="next", max_length=36)] = "",
) -> Response:
    """Off to the district's identity provider; the state (and where to come back to) in a cookie."""
    try:
        service = await WalletService.for_slug(session, settings, tenant)
        started = await learner_sso(request, session, settings).begin(service.tenant)
    except ServiceError as exc:
        return _refuse(request, session, None, settings, exc.title, exc.detail, exc.status)
    next_uuid = _uuid(next_id)
    response = RedirectResponse(started.url, status_code=303)
    WALLET_SSO.set(response, settings, started.state, str(next_uuid or ""))
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
    browser_state, next_id = WALLET_SSO.read(request)
    try:
        provider_answer(state, code, error)
        learner = await learner_sso(request, session, settings).finish(
            state=state, code=code, browser_state=browser_state
        )
    except ServiceError as exc:
        refused = _refuse(request, session, None, settings, exc.title, exc.detail, exc.status)
        WALLET_SSO.clear(refused)
        return refused
    next_uuid = _uuid(next_id)
    target = (
        f"{WALLET_PATH}/authorize/{learner.tenant.slug}/{next_uuid}"
        if next_uuid
        else WALLET_PATH + "/connections"
    )
    response = RedirectResponse(target, status_code=303)
    set_cookie(
        response, settings, COOKIE, learner.token, max_age=settings.wallet.session_seconds, path=WALLET_PATH
    )
    WALLET_SSO.clear(response)
    response.delete_cookie(PRE_COOKIE, path=WALLET_PATH)
    return response
