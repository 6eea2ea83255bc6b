"""Public, unauthenticated badge routes: issuers (DID document, Profile, JWKS), credentials by UUID with
content negotiation and baked images, status lists with HTTP caching."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from fastapi.routing import APIRoute

from service.api.deps import SessionDep, SettingsDep
from service.api.rest.errors import problems
from service.api.web import public_pages
from service.api.web.credential_page import build_page
from service.api.web.templating import render
from service.badges import documents, images
from service.badges.issuance import CredentialService
from service.badges.public import PublicBadgeService, PublicCredential
from service.credentials import baking

router = APIRouter(tags=["public"])
PUBLIC_ERRORS = problems(404, 422)
VC_JSON = "application/vc+ld+json"
JWT_TYPE = "application/vc+jwt"
_OFFERS = {
    VC_JSON: "json",
    "application/vc": "json",
    "application/ld+json": "json",
    "application/json": "json",
    "text/plain": "jwt",
    "application/jwt": "jwt",
    JWT_TYPE: "jwt",
    "text/html": "html",
    "application/xhtml+xml": "html",
}


def negotiate(accept: str | None) -> str:
    """``json`` (the default, also for ``*/*``), ``jwt`` or ``html``, by the Accept header's q-values
    (ties go to the earlier entry)."""
    best, best_q = "json", -1.0
    for position, part in enumerate((accept or "").split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        kind = _OFFERS.get(media.lower())
        if kind is None and media in ("*/*", "application/*"):
            kind = "json"
        if kind is not None and q > 0 and q - position * 1e-6 > best_q:
            best, best_q = kind, q - position * 1e-6
    return best


def wants_html(accept: str | None) -> bool:
    """True when a browser asks: ``text/html`` preferred over every JSON type (JSON stays the default)."""
    return negotiate(accept) == "html"


def _json(document: str | dict[str, Any], media_type: str = VC_JSON, **headers: str) -> Response:
    body = document if isinstance(document, str) else json.dumps(document, separators=(",", ":"))
    return Response(content=body, media_type=media_type, headers=headers)


@router.get(
    "/issuers/{slug}/did.json",
    summary="An issuer's DID document (did:web)",
    description=(
        "The district's DID document for `did:web:<host>:issuers:<slug>`: every issuer key, retired "
        "ones included, so older credentials keep verifying. No token."
    ),
    responses={**PUBLIC_ERRORS, 200: {"content": {"application/did+json": {}}}},
)
async def did_document(slug: str, session: SessionDep, settings: SettingsDep) -> Response:
    issuer = await PublicBadgeService(session, settings).issuer(slug)
    return _json(await issuer.did_document(), "application/did+json", **{"Cache-Control": "max-age=300"})


@router.get(
    "/issuers/{slug}/jwks.json",
    summary="An issuer's public keys as a JWK Set",
    description=(
        "The issuer's public keys as a JWK Set (`kid` = the verification method URL), for VC-JWT "
        "verifiers. No token."
    ),
    responses={**PUBLIC_ERRORS, 200: {"content": {"application/jwk-set+json": {}}}},
)
async def issuer_jwks(slug: str, session: SessionDep, settings: SettingsDep) -> Response:
    issuer = await PublicBadgeService(session, settings).issuer(slug)
    return _json(await issuer.jwks(), "application/jwk-set+json", **{"Cache-Control": "max-age=300"})


@router.get(
    "/issuers/{slug}",
    summary="An issuer's Open Badges 3.0 Profile (JSON-LD), or its web page for browsers (text/html)",
    description=(
        "Content-negotiated: `Accept: text/html` gets the issuer's public page, anything else the "
        "Open Badges 3.0 Profile. No token."
    ),
    responses={**PUBLIC_ERRORS, 200: {"content": {"application/ld+json": {}, "text/html": {}}}},
)
async def issuer_profile(slug: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    public = PublicBadgeService(session, settings)
    issuer = await public.issuer(slug)
    if wants_html(request.headers.get("accept")):
        tenant = await issuer.tenant()
        return public_pages.issuer_page(
            request,
            name=tenant.name,
            did=issuer.did_for(slug),
            slug=slug,
            public_url=settings.public_url,
            achievements=await public.achievements(slug),
        )
    return _json(await issuer.profile(), "application/ld+json", Vary="Accept")


@router.get(
    "/issuers/{slug}/achievements/{achievement_id}",
    summary="A badge definition: the OB 3.0 Achievement (JSON-LD), or its web page for browsers (text/html)",
    description=(
        "Content-negotiated: the badge's criteria, competencies and level descriptors as a page, or "
        "the OB 3.0 Achievement exactly as in the credentials. No token."
    ),
    responses={**PUBLIC_ERRORS, 200: {"content": {"application/ld+json": {}, "text/html": {}}}},
)
async def achievement(
    slug: str, achievement_id: uuid.UUID, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    found = await PublicBadgeService(session, settings).achievement(slug, achievement_id)
    if wants_html(request.headers.get("accept")):
        return public_pages.achievement_page(request, found, settings.public_url, slug)
    return _json(found.document, "application/ld+json", Vary="Accept")


@router.get(
    "/status-lists/{list_id}",
    summary="A signed BitstringStatusListCredential (ETag, Cache-Control, 304 on If-None-Match)",
    description=(
        "The signed revocation list verifiers check (BitstringStatusListCredential); cacheable for "
        "`badges.status_list_max_age` seconds, with an ETag. No token."
    ),
    responses={**PUBLIC_ERRORS, 200: {"content": {VC_JSON: {}}}, 304: {"description": "not modified"}},
)
async def status_list(
    list_id: uuid.UUID, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    row = await PublicBadgeService(session, settings).status_list(list_id)
    assert row.signed is not None and row.etag is not None
    headers = {"ETag": row.etag, "Cache-Control": f"public, max-age={settings.badges.status_list_max_age}"}
    wanted = request.headers.get("if-none-match", "")
    if row.etag in {tag.strip().removeprefix("W/") for tag in wanted.split(",")} or wanted.strip() == "*":
        return Response(status_code=304, headers=headers)
    return _json(row.signed, VC_JSON, **headers)


def _no_store() -> dict[str, str]:
    # Live status on the page: never cached by intermediaries.
    return {"Cache-Control": "no-cache", "Vary": "Accept"}


async def _credential(
    credential_id: uuid.UUID, session: SessionDep, settings: SettingsDep
) -> PublicCredential:
    return await PublicBadgeService(session, settings).credential(credential_id)


async def _jwt(found: PublicCredential, session: SessionDep, settings: SettingsDep) -> str:
    """The VC-JWT form, signed on the first request for it and then stored (docs/credentials.md)."""
    return await CredentialService(session, found.row.tenant_id, settings).jwt(found.row)


@router.get(
    "/credentials/{credential_id}.jwt",
    summary="A credential as a compact JWS (VC-JWT, RS256)",
    description=(
        "The credential's VC-JWT form (RS256, `kid` resolving to the issuer's key) as "
        "`application/jwt`, signed on the first request for it and then stored. No token: the "
        "unguessable URL is the secret."
    ),
    responses={**PUBLIC_ERRORS, 200: {"content": {"text/plain": {}}}},
    response_class=PlainTextResponse,
)
async def credential_jwt(credential_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> Response:
    found = await _credential(credential_id, session, settings)
    return PlainTextResponse(await _jwt(found, session, settings), headers=_no_store())


@router.get(
    "/credentials/{credential_id}.json",
    summary="A credential as signed JSON (eddsa-rdfc-2022)",
    description=("The credential byte for byte as signed, with its Data Integrity proof. No token."),
    responses={**PUBLIC_ERRORS, 200: {"content": {VC_JSON: {}}}},
)
async def credential_json(credential_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> Response:
    found = await _credential(credential_id, session, settings)
    return _json(found.row.document, VC_JSON, **_no_store())


@router.get(
    "/credentials/{credential_id}/badge.png",
    summary="The badge image with the credential baked in (PNG iTXt 'openbadgecredential')",
    description=(
        "A PNG badge with the signed credential in an `iTXt` chunk, as OB 3.0 baking specifies; `POST"
        " /api/v1/verify` reads it back. No token."
    ),
    responses={**PUBLIC_ERRORS, 200: {"content": {"image/png": {}}}},
    response_class=Response,
)
async def baked_png(credential_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> Response:
    found = await _credential(credential_id, session, settings)
    baked = baking.bake_png(images.badge_png(found.row.name), found.row.document)
    return Response(
        content=baked,
        media_type="image/png",
        headers={"Content-Disposition": f'attachment; filename="badge-{credential_id}.png"'},
    )


@router.get(
    "/credentials/{credential_id}/badge.svg",
    summary="The badge image with the credential baked in (SVG openbadges:credential)",
    description=(
        "An SVG badge with the signed credential in an `openbadges:credential` element, as OB 3.0 "
        "baking specifies. No token."
    ),
    responses={**PUBLIC_ERRORS, 200: {"content": {"image/svg+xml": {}}}},
    response_class=Response,
)
async def baked_svg(credential_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> Response:
    found = await _credential(credential_id, session, settings)
    baked = baking.bake_svg(images.badge_svg(found.row.name), found.row.document)
    return Response(
        content=baked,
        media_type="image/svg+xml",
        headers={"Content-Disposition": f'attachment; filename="badge-{credential_id}.svg"'},
    )


@router.get(
    "/credentials/{credential_id}",
    summary="A credential: JSON (default), compact JWS (text/plain) or a web page (text/html)",
    description=(
        "Content-negotiated: the signed JSON (default), the compact JWS for `text/plain` / "
        "`application/jwt`, or for browsers the public page with the credential's live status. No "
        "token."
    ),
    responses={
        **PUBLIC_ERRORS,
        200: {"content": {VC_JSON: {}, "application/json": {}, "text/plain": {}, "text/html": {}}},
    },
    response_class=Response,
)
async def credential(
    credential_id: uuid.UUID, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    found = await _credential(credential_id, session, settings)
    kind = negotiate(request.headers.get("accept"))
    if kind == "jwt":
        return PlainTextResponse(await _jwt(found, session, settings), headers=_no_store())
    if kind == "html":
        # The page shows the revocation date, never the (internal) reason.
        view = build_page(
            json.loads(found.row.document),
            url=documents.credential_url(settings.public_url, found.row.id),
            public_url=settings.public_url,
            learner_display=found.learner_display,
            revoked_at=found.row.revoked_at,
            now=datetime.now(UTC),
        )
        return render(request, "credential.html", {"page": view}, headers=_no_store())
    media = (
        "application/json"
        if "application/json" in (request.headers.get("accept") or "")
        and VC_JSON not in (request.headers.get("accept") or "")
        else VC_JSON
    )
    return _json(found.row.document, media, **_no_store())


def _answer_head_too() -> None:
    """Verifiers and link checkers probe with HEAD: every public GET answers it too (same status and
    headers, no body; the OpenAPI document keeps one operation per route)."""
    for route in list(router.routes):
        if isinstance(route, APIRoute) and "GET" in (route.methods or ()):
            router.add_api_route(
                route.path,
                route.endpoint,
                methods=["HEAD"],
                include_in_schema=False,
                response_class=route.response_class,
                name=f"{route.name}_head",
            )


_answer_head_too()
