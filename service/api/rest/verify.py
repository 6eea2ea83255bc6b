"""Public verification for partners: ``POST /api/v1/verify`` (the ``/verify`` web page is in
:mod:`service.api.web.verify_pages` and shares the dependencies below).

No token: anyone may verify a credential. Each client IP is rate-limited (``verify.*`` settings,
429 with ``Retry-After``); bodies are bounded by ``verify.max_body_bytes``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api.deps import client_ip
from service.api.rest.errors import problems
from service.config import Settings
from service.credentials.remote import NestedResult
from service.credentials.verify import VerificationResult
from service.errors import FieldError
from service.verification.errors import NoCredentialFound, UnreadableCredential, VerifyBodyTooLarge
from service.verification.fetcher import RemoteFetcher
from service.verification.ratelimit import Limiter, make_limiter
from service.verification.recipient import MAX_RECIPIENT_LENGTH, recipient_matches
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
    limiter: Limiter | None = getattr(state, "verify_rate_limiter", None)
    if limiter is None:
        settings = _settings(request)
        options = settings.verify
        limiter = make_limiter(
            state,
            settings,
            "verify",
            options.rate_limit_per_minute,
            options.rate_limit_burst,
            options.rate_limit_clients,
        )
        state.verify_rate_limiter = limiter
    client = client_ip(request)
    retry_after = await limiter.acquire(client)
    if retry_after is not None:
        raise StarletteHTTPException(
            429,
            f"too many verification requests from {client}; retry in {int(retry_after)} s",
            headers={"Retry-After": str(int(retry_after))},
        )


async def rate_limited_verifier(request: Request) -> VerificationService:
    """:func:`enforce_rate_limit`, then :func:`get_verification_service`: one dependency instead of two
    for the public API's hot path (FastAPI's solving of each costs as much as a cached check itself)."""
    await enforce_rate_limit(request)
    return await get_verification_service(request)


VerificationServiceDep = Annotated[VerificationService, Depends(get_verification_service)]
RateLimitDep = Annotated[None, Depends(enforce_rate_limit)]
RateLimitedVerifierDep = Annotated[VerificationService, Depends(rate_limited_verifier)]


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
        f"send a credential: a {file_field!r} upload (baked PNG/SVG, transcript PDF, JSON or JWS file) or "
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
    applicable: bool = Field(
        default=True,
        description="false when the check does not apply (the schema check of a credential that is "
        "neither an Open Badge nor a CLR); absent otherwise",
    )


class NestedRead(BaseModel):
    """One credential nested in a ClrCredential, verified on its own."""

    index: int = Field(description="position in credentialSubject.verifiableCredential")
    id: str | None
    name: str | None
    type: list[str]
    verified: bool
    checks: list[CheckRead]


class RecipientRead(BaseModel):
    matched: bool = Field(description="whether the e-mail address or id given is the credential's recipient")


class VerifyRead(BaseModel):
    """The outcome: ``verified`` is true only when every check passed (for a ClrCredential: its own
    checks and those of every credential it holds)."""

    verified: bool
    checks: list[CheckRead]
    nested: list[NestedRead] | None = Field(
        default=None,
        description="ClrCredential (CLR 2.0) only: each credential it holds, verified on its own "
        "(a tampered or revoked one is reported here while the others still verify)",
    )
    credential: dict[str, Any] | None = Field(
        default=None, description="the credential as read (decoded from the JWS or the image)"
    )
    proof_format: str | None = Field(default=None, description="data-integrity or vc-jwt")
    source: str = Field(description="json, jws, png, svg, pdf or url: how the credential was submitted")
    recipient: RecipientRead | None = Field(
        default=None, description="present when `recipient` was given: does it match the credential?"
    )


def verify_body(
    result: VerificationResult,
    source: str,
    nested: Sequence[NestedResult] | None = None,
    recipient: str | None = None,
) -> dict[str, Any]:
    """The :class:`VerifyRead` document, built directly: the credential is echoed as read, and
    re-validating it through the model would only copy it."""
    body: dict[str, Any] = {
        # An Open Badges verdict: a credential that is neither an Open Badge nor a CLR is not
        # "verified" here even when its proof holds (docs/verification.md).
        "verified": result.badge_verified and all(item.result.badge_verified for item in nested or ()),
        "checks": [check.to_json() for check in result.checks],
        "credential": result.credential,
        "proof_format": result.proof_format,
        "source": source,
    }
    if nested is not None:
        body["nested"] = [item.to_json() for item in nested]
    if recipient is not None:
        body["recipient"] = {"matched": recipient_matches(result.credential, recipient)}
    return body


def json_response(body: dict[str, Any]) -> Response:
    """``body`` as compact UTF-8 JSON (what ``JSONResponse`` writes) by orjson: the credential echoed
    back is most of the answer. What orjson refuses (an integer beyond 64 bits, a lone surrogate in
    a string) goes through the standard encoder, escaped to ASCII."""
    try:
        content = orjson.dumps(body)
    except TypeError:
        content = json.dumps(body, separators=(",", ":"), allow_nan=False).encode("ascii")
    return Response(content=content, media_type="application/json")


_FORM_SCHEMA: dict[str, Any] = {
    "schema": {
        "type": "object",
        "properties": {"file": {"type": "string", "format": "binary"}, "credential": {"type": "string"}},
    }
}
_BODY_DOC: dict[str, Any] = {
    "required": True,
    "description": "The credential: JSON, a compact JWS (text/plain), a baked badge image, a PDF "
    "carrying an embedded credential (a transcript), or a form upload (`file`) / pasted text "
    "(`credential`).",
    "content": {
        "application/json": {"schema": {"type": "object", "additionalProperties": True}},
        "application/vc+ld+json": {"schema": {"type": "object", "additionalProperties": True}},
        "text/plain": {"schema": {"type": "string"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/svg+xml": {"schema": {"type": "string"}},
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": _FORM_SCHEMA,
    },
}


@router.post(
    "/api/v1/verify",
    summary="Verify a credential (public, rate-limited)",
    description="Verifies an Open Badges 3.0 / CLR 2.0 / W3C credential from any issuer: schema, proof "
    "(eddsa-rdfc-2022, Ed25519Signature2020, VC-JWT), issuer = key controller, validity dates and "
    "status (Bitstring Status List, 1EdTech Revocation List). A baked PNG/SVG badge or a transcript PDF "
    "is verified through the credential it carries. Keys of other issuers are resolved from "
    "did:key, did:web or verification-method URLs. A failed check is a 200 answer with "
    "`verified: false`; only an unreadable body is an error. With `?url=` (and no body) the credential "
    "published at that link is fetched (through the outbound guard) and verified; `recipient` (an e-mail "
    "address or student id) adds `recipient.matched`, compared with the credential's hashed identifiers.",
    response_model=VerifyRead,
    openapi_extra={"requestBody": _BODY_DOC},
    responses={
        **problems(400, 413, 415, 422),
        429: {"description": "Too many requests from this client; see Retry-After"},
    },
)
async def verify_credential_api(
    request: Request,
    service: RateLimitedVerifierDep,
    url: Annotated[
        str | None, Query(max_length=2048, description="a link to the credential (then send no body)")
    ] = None,
    recipient: Annotated[
        str | None,
        Query(max_length=MAX_RECIPIENT_LENGTH, description="an e-mail address or student id to match"),
    ] = None,
) -> Response:
    if url is not None:
        if await read_bounded_body(request):
            raise UnreadableCredential(
                "send either a credential in the body or a url, not both",
                [FieldError("query.url", "given together with a body", "conflict")],
            )
        submitted = await service.fetch(url.strip())
        source = "url"
    else:
        submitted = await service.resolve(await read_verify_request(request))
        source = submitted.source
    result = await service.verify(submitted.credential)
    nested = await service.verify_nested(result)
    return json_response(verify_body(result, source, nested, recipient))
