"""Public verification for partners: ``POST /api/v1/verify`` and the ``/verify`` web page.

No token: anyone may verify a credential. Each client IP is rate-limited (``verify.*`` settings,
429 with ``Retry-After``); bodies are bounded by ``verify.max_body_bytes``.
"""

from __future__ import annotations

import html
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api.deps import client_ip
from service.api.rest.errors import problems
from service.config import Settings
from service.credentials.verify import VerificationResult
from service.errors import FieldError, ServiceError
from service.verification.errors import NoCredentialFound, UnreadableCredential, VerifyBodyTooLarge
from service.verification.fetcher import RemoteFetcher
from service.verification.ratelimit import RateLimiter
from service.verification.service import (
    Submitted,
    VerificationService,
    read_submission,
    read_text,
    read_upload,
)

router = APIRouter(tags=["verify"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_verification_service(request: Request) -> VerificationService:
    """One service per app: it holds the fetch cache."""
    state = request.app.state
    service: VerificationService | None = getattr(state, "verification_service", None)
    if service is None:
        settings = _settings(request)
        service = VerificationService(settings, RemoteFetcher(settings, request.app))
        state.verification_service = service
    return service


async def enforce_rate_limit(request: Request) -> None:
    """Per client IP token bucket; raises 429 with ``Retry-After`` when exhausted."""
    state = request.app.state
    limiter: RateLimiter | None = getattr(state, "verify_rate_limiter", None)
    if limiter is None:
        options = _settings(request).verify
        limiter = RateLimiter(
            options.rate_limit_per_minute, options.rate_limit_burst, options.rate_limit_clients
        )
        state.verify_rate_limiter = limiter
    client = client_ip(request)
    retry_after = limiter.acquire(client)
    if retry_after is not None:
        raise StarletteHTTPException(
            429,
            f"too many verification requests from {client}; retry in {int(retry_after)} s",
            headers={"Retry-After": str(int(retry_after))},
        )


VerificationServiceDep = Annotated[VerificationService, Depends(get_verification_service)]
RateLimitDep = Annotated[None, Depends(enforce_rate_limit)]


async def read_bounded_body(request: Request) -> bytes:
    limit = _settings(request).verify.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise VerifyBodyTooLarge(f"the body exceeds the verification limit of {limit} bytes")
    body = await request.body()
    if len(body) > limit:
        raise VerifyBodyTooLarge(f"the body exceeds the verification limit of {limit} bytes")
    return body


def _media(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_form(
    request: Request, *, file_field: str = "file", text_field: str = "credential"
) -> Submitted:
    """A multipart or urlencoded form with a ``file`` upload or a pasted ``credential`` text."""
    await read_bounded_body(request)  # bounds the form before it is parsed
    limit = _settings(request).verify.max_body_bytes
    try:
        form = await request.form(max_files=1, max_fields=8, max_part_size=limit)
    except (ValueError, KeyError, AssertionError) as exc:
        raise UnreadableCredential(f"the form cannot be read: {exc}") from exc
    except StarletteHTTPException as exc:
        raise UnreadableCredential(f"the form cannot be read: {exc.detail}") from exc
    upload = form.get(file_field)
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise VerifyBodyTooLarge(f"the uploaded file exceeds the limit of {limit} bytes")
        if data:
            return read_upload(upload.filename, (upload.content_type or "").lower(), data, loc=file_field)
    text = form.get(text_field)
    if isinstance(text, str) and text.strip():
        return read_text(text, loc=text_field)
    raise NoCredentialFound(
        f"send a credential: a {file_field!r} upload (baked PNG/SVG, JSON or JWS file) or "
        f"a {text_field!r} field (JSON or compact JWS)",
        [FieldError(f"body.{file_field}", "missing", "missing")],
    )


async def read_verify_request(request: Request) -> Submitted:
    media = _media(request)
    if media in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return await read_form(request)
    return read_submission(media, await read_bounded_body(request))


# --- API ----------------------------------------------------------------------------------------------


class CheckRead(BaseModel):
    check: str = Field(description="schema, proof, issuer, validity or status")
    ok: bool
    message: str


class VerifyRead(BaseModel):
    """The outcome: ``verified`` is true only when every check passed."""

    verified: bool
    checks: list[CheckRead]
    credential: dict[str, Any] | None = Field(
        default=None, description="the credential as read (decoded from the JWS or the image)"
    )
    proof_format: str | None = Field(default=None, description="data-integrity or vc-jwt")
    source: str = Field(description="json, jws, png or svg: how the credential was submitted")


def verify_body(result: VerificationResult, source: str) -> dict[str, Any]:
    """The :class:`VerifyRead` document, built directly: the credential is echoed as read, and
    re-validating it through the model would only copy it."""
    return {
        "verified": result.verified,
        "checks": [check.to_json() for check in result.checks],
        "credential": result.credential,
        "proof_format": result.proof_format,
        "source": source,
    }


_FORM_SCHEMA: dict[str, Any] = {
    "schema": {
        "type": "object",
        "properties": {"file": {"type": "string", "format": "binary"}, "credential": {"type": "string"}},
    }
}
_BODY_DOC: dict[str, Any] = {
    "required": True,
    "description": "The credential: JSON, a compact JWS (text/plain), a baked badge image, or a form "
    "upload (`file`) / pasted text (`credential`).",
    "content": {
        "application/json": {"schema": {"type": "object", "additionalProperties": True}},
        "application/vc+ld+json": {"schema": {"type": "object", "additionalProperties": True}},
        "text/plain": {"schema": {"type": "string"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/svg+xml": {"schema": {"type": "string"}},
        "multipart/form-data": _FORM_SCHEMA,
    },
}


@router.post(
    "/api/v1/verify",
    summary="Verify a credential (public, rate-limited)",
    description="Verifies an Open Badges 3.0 / CLR 2.0 / W3C credential from any issuer: schema, proof "
    "(eddsa-rdfc-2022, Ed25519Signature2020, VC-JWT), issuer = key controller, validity dates and "
    "status (Bitstring Status List, 1EdTech Revocation List). Keys of other issuers are resolved from "
    "did:key, did:web or verification-method URLs. A failed check is a 200 answer with "
    "`verified: false`; only an unreadable body is an error.",
    response_model=VerifyRead,
    openapi_extra={"requestBody": _BODY_DOC},
    responses={
        **problems(400, 413, 415, 422),
        429: {"description": "Too many requests from this client; see Retry-After"},
    },
)
async def verify_credential_api(
    request: Request, _limit: RateLimitDep, service: VerificationServiceDep
) -> JSONResponse:
    submitted = await read_verify_request(request)
    result = await service.verify(submitted.credential)
    return JSONResponse(verify_body(result, submitted.source))


# --- web page ---------------------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Verify a credential - Portrait</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d2330}}
textarea{{width:100%;min-height:10rem;font-family:monospace}} table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ccd;padding:.4rem;text-align:left;vertical-align:top}}
.ok{{color:#176b2c}} .fail{{color:#a11}} .verdict{{font-size:1.4rem;font-weight:bold}}
dt{{font-weight:bold}} dd{{margin:0 0 .5rem 0}}
</style></head><body>
<h1>Verify a credential</h1>
<p>Paste an Open Badges 3.0 credential (JSON or a compact JWS) or upload a baked badge image (PNG or SVG).
Nothing you send is stored.</p>
<form method="post" action="/verify" enctype="multipart/form-data">
<p><label for="credential">Credential (JSON or JWS)</label><br>
<textarea id="credential" name="credential">{pasted}</textarea></p>
<p><label for="file">or a baked badge image / credential file</label>
<input id="file" name="file" type="file"
 accept=".png,.svg,.json,.jwt,image/png,image/svg+xml,application/json"></p>
<p><button type="submit">Verify</button></p>
</form>
{result}
</body></html>
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _text(value: Any) -> str | None:
    """A display string for a name-like value (string, language map, object with name/id)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("name", "@value", "id"):
            inner = value.get(key)
            if isinstance(inner, str):
                return inner
    if isinstance(value, list) and value:
        return _text(value[0])
    return None


def _summary(credential: dict[str, Any] | None) -> str:
    if not credential:
        return ""
    subject = credential.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    rows = [
        ("Credential", _text(credential.get("name")) or _text(credential.get("id"))),
        ("Achievement", _text(achievement)),
        ("Issuer", _text(credential.get("issuer"))),
        (
            "Issuer id",
            credential.get("issuer", {}).get("id")
            if isinstance(credential.get("issuer"), dict)
            else credential.get("issuer"),
        ),
        ("Recipient", _text(subject) if isinstance(subject, dict) else None),
        ("Valid from", credential.get("validFrom") or credential.get("issuanceDate")),
        ("Valid until", credential.get("validUntil") or credential.get("expirationDate")),
    ]
    items = "".join(f"<dt>{_e(label)}</dt><dd>{_e(value)}</dd>" for label, value in rows if value)
    return f"<dl>{items}</dl>" if items else ""


def _render_result(result: VerificationResult, source: str) -> str:
    verdict = (
        '<p class="verdict ok">Verified</p>'
        if result.verified
        else '<p class="verdict fail">Not verified</p>'
    )
    rows = "".join(
        f'<tr><td>{_e(c.check)}</td><td class="{"ok" if c.ok else "fail"}">{"pass" if c.ok else "fail"}</td>'
        f"<td>{_e(c.message)}</td></tr>"
        for c in result.checks
    )
    return (
        f'<section id="result"><h2>Result</h2>{verdict}<p>Read from: {_e(source)}'
        f"{'; proof format: ' + _e(result.proof_format) if result.proof_format else ''}</p>"
        f"{_summary(result.credential)}"
        f"<table><thead><tr><th>Check</th><th>Outcome</th><th>Details</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _page(result: str = "", pasted: str = "") -> str:
    return _PAGE.format(result=result, pasted=_e(pasted))


#: The page needs no script, no frame, no remote resource: say so to the browser.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


@router.get(
    "/verify",
    summary="Verification web page (HTML form)",
    response_class=HTMLResponse,
)
async def verify_page() -> HTMLResponse:
    return _html(_page())


@router.post(
    "/verify",
    summary="Verification web page: verify the pasted or uploaded credential (HTML result)",
    response_class=HTMLResponse,
    openapi_extra={"requestBody": {"content": {"multipart/form-data": _FORM_SCHEMA}}},
    responses={
        400: {"description": "Unreadable input (HTML page naming the problem)", "content": {"text/html": {}}},
        413: {"description": "Body too large (HTML page)", "content": {"text/html": {}}},
        422: {"description": "No credential in the input (HTML page)", "content": {"text/html": {}}},
        429: {"description": "Too many requests from this client; see Retry-After"},
    },
)
async def verify_page_submit(
    request: Request, _limit: RateLimitDep, service: VerificationServiceDep
) -> HTMLResponse:
    pasted = ""
    try:
        if _media(request) not in ("multipart/form-data", "application/x-www-form-urlencoded"):
            raise UnreadableCredential("submit the form (multipart/form-data)")
        submitted = await read_form(request)
        if submitted.source == "json" or submitted.source == "jws":
            credential = submitted.credential
            pasted = credential if isinstance(credential, str) else json.dumps(credential, indent=2)
        result = await service.verify(submitted.credential)
    except ServiceError as exc:
        message = (
            '<section id="result"><h2>Result</h2><p class="verdict fail">Cannot verify</p>'
            f"<p>{_e(exc.detail)}</p></section>"
        )
        return _html(_page(message, pasted), exc.status)
    return _html(_page(_render_result(result, submitted.source), pasted))
