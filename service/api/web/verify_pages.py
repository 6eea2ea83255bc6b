"""The ``/verify`` page: a credential's link, an uploaded file or a pasted text in; the verdict first,
in plain words, then each check; the input kept in the form. ``/verify/result`` answers the same
result as an HTML fragment for the one-click "Verify" button of a credential page."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api.deps import SessionDep, SettingsDep
from service.api.rest.verify import (
    VerificationServiceDep,
    enforce_rate_limit,
    read_bounded_body,
)
from service.api.web.templating import render, render_fragment
from service.api.web.verdict import Verdict, build_verdict, with_nested
from service.badges.public import PublicBadgeService
from service.config import Settings
from service.errors import FieldError, NotFoundError, ServiceError
from service.verification.errors import NoCredentialFound, UnreadableCredential, VerifyBodyTooLarge
from service.verification.recipient import MAX_RECIPIENT_LENGTH, recipient_matches
from service.verification.service import Submitted, VerificationService, read_text, read_upload

router = APIRouter(tags=["pages"])

NO_STORE = {"Cache-Control": "no-store"}
FORM_MEDIA = ("multipart/form-data", "application/x-www-form-urlencoded")
UrlQuery = Annotated[
    str | None, Query(max_length=2048, description="the link to a credential to fetch and verify")
]
RecipientQuery = Annotated[
    str | None,
    Query(max_length=MAX_RECIPIENT_LENGTH, description="an e-mail address or student id to match"),
]


async def own_revocation_date(
    session: AsyncSession, settings: Settings, credential: dict[str, Any] | None
) -> datetime | None:
    """When one of our own credentials was revoked (the status list has no dates)."""
    identifier = credential.get("id") if credential else None
    prefix = settings.public_url.rstrip("/") + "/credentials/"
    if not isinstance(identifier, str) or not identifier.startswith(prefix):
        return None
    try:
        credential_id = uuid.UUID(identifier.removeprefix(prefix))
    except ValueError:
        return None
    try:
        found = await PublicBadgeService(session, settings).credential(credential_id)
    except NotFoundError:
        return None
    return found.row.revoked_at


async def verdict_for(
    submitted: Submitted,
    *,
    service: VerificationService,
    session: AsyncSession,
    settings: Settings,
    recipient: str | None,
) -> tuple[Verdict, str | None]:
    result = await service.verify(submitted.credential)
    revoked_on = None
    if not result.verified:
        revoked_on = await own_revocation_date(session, settings, result.credential)
    matched = recipient_matches(result.credential, recipient) if recipient and recipient.strip() else None
    verdict = build_verdict(result, revoked_on=revoked_on, recipient_matched=matched)
    nested = await service.verify_nested(result)  # a CLR transcript: each credential it holds
    if nested is not None:
        verdict = with_nested(verdict, nested)
    return verdict, result.proof_format


def _error(exc: ServiceError, fallback_field: str) -> dict[str, str]:
    field = fallback_field
    for error in exc.errors or []:
        loc = error.loc.split(".")[-1] if isinstance(error, FieldError) else ""
        if loc in ("url", "file", "credential", "recipient"):
            field = loc
            break
    return {"message": exc.detail, "field": field}


def _page(
    request: Request,
    *,
    verdict: Verdict | None = None,
    error: dict[str, str] | None = None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    context = {
        "verdict": verdict,
        "error": error,
        "url": values.get("url"),
        "pasted": values.get("pasted"),
        "recipient": values.get("recipient"),
        "recipient_query": values.get("recipient"),
        "source": values.get("source"),
        "proof_format": values.get("proof_format"),
    }
    return render(request, "verify.html", context, status_code=status_code, headers=NO_STORE)


@router.get(
    "/verify",
    summary="Verification web page; with ?url= it fetches and verifies that credential (HTML verdict)",
    description=(
        "The public verification page: a form for a link, an upload or a pasted credential; with "
        "`?url=` (and optionally `&recipient=`) it verifies at once and shows the verdict."
    ),
    response_class=HTMLResponse,
    responses={
        400: {
            "description": "The link cannot be fetched or holds no credential",
            "content": {"text/html": {}},
        },
        429: {"description": "Too many requests from this client; see Retry-After"},
    },
)
async def verify_page(
    request: Request,
    service: VerificationServiceDep,
    session: SessionDep,
    settings: SettingsDep,
    url: UrlQuery = None,
    recipient: RecipientQuery = None,
) -> HTMLResponse:
    if not url:
        return _page(request, recipient=recipient)
    await enforce_rate_limit(request)
    try:
        submitted = await service.fetch(url.strip())
        verdict, proof_format = await verdict_for(
            submitted, service=service, session=session, settings=settings, recipient=recipient
        )
    except ServiceError as exc:
        return _page(request, error=_error(exc, "url"), status_code=exc.status, url=url, recipient=recipient)
    return _page(
        request, verdict=verdict, url=url, recipient=recipient, source="link", proof_format=proof_format
    )


@router.get(
    "/verify/result",
    summary="The verification result of the credential at ?url= as an HTML fragment (the Verify button)",
    description=(
        "The same checks as `/verify`, answered as an HTML fragment the credential page's Verify "
        "button shows in place."
    ),
    response_class=HTMLResponse,
    responses={
        400: {"description": "No link, or the link cannot be fetched (HTML fragment)"},
        429: {"description": "Too many requests from this client; see Retry-After"},
    },
)
async def verify_fragment(
    request: Request,
    service: VerificationServiceDep,
    session: SessionDep,
    settings: SettingsDep,
    url: UrlQuery = None,
    recipient: RecipientQuery = None,
) -> HTMLResponse:
    await enforce_rate_limit(request)
    try:
        if not url:
            raise UnreadableCredential(
                "give the link of the credential to verify", [FieldError("query.url", "missing", "missing")]
            )
        submitted = await service.fetch(url.strip())
        verdict, _ = await verdict_for(
            submitted, service=service, session=session, settings=settings, recipient=recipient
        )
    except ServiceError as exc:
        body = render_fragment("_verify_error.html", {"message": exc.detail, "level": 2})
        return HTMLResponse(body, status_code=exc.status, headers=NO_STORE)
    body = render_fragment(
        "_verify_result.html", {"verdict": verdict, "level": 2, "recipient_query": recipient}
    )
    return HTMLResponse(body, headers=NO_STORE)


async def _read_page_form(request: Request) -> tuple[dict[str, str], Submitted | None]:
    """The form's text fields and the credential it carries (upload > paste); the link is fetched later."""
    await read_bounded_body(request)  # bounds the form before it is parsed
    limit = request.app.state.settings.verify.max_body_bytes
    try:
        form = await request.form(max_files=1, max_fields=8, max_part_size=limit)
    except (ValueError, KeyError, AssertionError) as exc:
        raise UnreadableCredential(f"the form cannot be read: {exc}") from exc
    except StarletteHTTPException as exc:
        raise UnreadableCredential(f"the form cannot be read: {exc.detail}") from exc
    fields = {
        name: value.strip() if name != "credential" else value
        for name in ("url", "credential", "recipient")
        if isinstance(value := form.get(name), str)
    }
    if len(fields.get("recipient", "")) > MAX_RECIPIENT_LENGTH:
        raise UnreadableCredential(
            f"the e-mail address or id is longer than {MAX_RECIPIENT_LENGTH} characters",
            [FieldError("body.recipient", "too long", "string_too_long")],
        )
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise VerifyBodyTooLarge(f"the uploaded file exceeds the limit of {limit} bytes")
        if data:
            return fields, read_upload(
                upload.filename, (upload.content_type or "").lower(), data, loc="body.file"
            )
    text = fields.get("credential", "")
    if text.strip():
        return fields, read_text(text, loc="body.credential")
    if fields.get("url"):
        return fields, None
    raise NoCredentialFound(
        "give the credential's link, upload its file or paste it",
        [FieldError("body.url", "missing", "missing")],
    )


@router.post(
    "/verify",
    summary="Verification web page: verify the linked, uploaded or pasted credential (HTML verdict)",
    description=(
        "The form's target: verifies the link, uploaded file (baked PNG/SVG, PDF, JSON, JWT) or "
        "pasted text and renders the verdict page; rate-limited per client address."
    ),
    response_class=HTMLResponse,
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "url": {"type": "string"},
                            "file": {"type": "string", "format": "binary"},
                            "credential": {"type": "string"},
                            "recipient": {"type": "string"},
                        },
                    }
                }
            }
        }
    },
    responses={
        400: {"description": "Unreadable input (HTML page naming the problem)", "content": {"text/html": {}}},
        413: {"description": "Body too large (HTML page)", "content": {"text/html": {}}},
        422: {"description": "No credential in the input (HTML page)", "content": {"text/html": {}}},
        429: {"description": "Too many requests from this client; see Retry-After"},
    },
)
async def verify_page_submit(
    request: Request, service: VerificationServiceDep, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    await enforce_rate_limit(request)
    fields: dict[str, str] = {}
    try:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in FORM_MEDIA:
            raise UnreadableCredential("submit the form (multipart/form-data)")
        fields, submitted = await _read_page_form(request)
        source = submitted.source if submitted else "link"
        if submitted is None:
            submitted = await service.fetch(fields["url"], loc="body.url")
        submitted = await service.resolve(submitted, loc="body.file")
        verdict, proof_format = await verdict_for(
            submitted, service=service, session=session, settings=settings, recipient=fields.get("recipient")
        )
    except ServiceError as exc:
        return _page(
            request,
            error=_error(exc, "credential"),
            status_code=exc.status,
            url=fields.get("url"),
            pasted=fields.get("credential"),
            recipient=fields.get("recipient"),
        )
    return _page(
        request,
        verdict=verdict,
        url=fields.get("url"),
        pasted=fields.get("credential"),
        recipient=fields.get("recipient"),
        source=source,
        proof_format=proof_format,
    )
