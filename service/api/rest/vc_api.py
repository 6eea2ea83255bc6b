"""W3C VC-API verification endpoints per issuer (public, rate-limited like ``/api/v1/verify``).

``POST /vc-api/issuers/{slug}/credentials/verify`` ``{"verifiableCredential": ..., "options": {...}}``
and ``POST /vc-api/issuers/{slug}/presentations/verify`` ``{"verifiablePresentation": ...,
"options": {"challenge", "domain"}}``. 200 when verified; 422 when a data model rule is broken; 400
when well-formed but not verified. See :mod:`service.verification.vc_api`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from service.api.deps import SessionDep
from service.api.problems import PROBLEM_JSON
from service.api.rest.bodies import read_json_body
from service.api.rest.errors import problems
from service.api.rest.verify import RateLimitDep, VerificationServiceDep, read_bounded_body
from service.verification import vc_api
from service.verification.service import VerificationService
from service.verification.vc_api import Outcome

router = APIRouter(prefix="/vc-api/issuers/{slug}", tags=["vc-api"])

SlugPath = Annotated[str, Path(min_length=1, max_length=63, description="the issuing district's slug")]


class VcApiResult(BaseModel):
    """A VC-API verification result."""

    model_config = ConfigDict(extra="allow")

    verified: bool
    checks: list[str] = Field(description="the checks performed")
    warnings: list[dict[str, Any]]
    errors: list[dict[str, Any]]


def _answer(outcome: Outcome) -> JSONResponse:
    media = "application/json" if outcome.status == 200 else PROBLEM_JSON
    return JSONResponse(outcome.body, status_code=outcome.status, media_type=media)


_RESPONSES: dict[int | str, dict[str, Any]] = {
    **problems(404, 413, 415),
    400: {
        "description": "Malformed JSON, or well-formed but not verified (errors[] names each failed check)",
        "content": {PROBLEM_JSON: {}},
    },
    422: {
        "description": "A data model rule is broken (errors[] names each rule and where)",
        "content": {PROBLEM_JSON: {}},
    },
    429: {"description": "Too many requests from this client; see Retry-After"},
}


def _body_doc(member: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": [member],
                    "properties": {member: {}, "options": {"type": "object", "additionalProperties": True}},
                }
            }
        },
    }


async def _json(request: Request) -> Any:
    await read_bounded_body(request)
    # The one reader bounds the nesting (limits.max_json_depth, at most the credential library's).
    return await read_json_body(request)


async def _issuer_and_body(
    request: Request, slug: str, session: AsyncSession, service: VerificationService
) -> Any:
    """404 unless ``slug`` is a district, then the request's JSON body."""
    await service.require_issuer(session, slug)
    # End the transaction now: verification may wait seconds on other issuers' servers, and a POST's
    # transaction is a writer (on SQLite it would hold the database's write lock all that time).
    await session.commit()
    return await _json(request)


@router.post(
    "/credentials/verify",
    summary="VC-API: verify a credential",
    description=(
        "W3C VC-API verification of a credential (object or compact JWS): 200 with the checks when it"
        " verifies, 400 with the failed checks otherwise. No token; rate-limited per client address."
    ),
    response_model=VcApiResult,
    responses=_RESPONSES,
    openapi_extra={"requestBody": _body_doc("verifiableCredential")},
)
async def verify_credential_vc_api(
    request: Request,
    slug: SlugPath,
    session: SessionDep,
    _limit: RateLimitDep,
    service: VerificationServiceDep,
) -> JSONResponse:
    body = await _issuer_and_body(request, slug, session, service)
    violations = vc_api.credential_request_problems(body)
    if violations:
        return _answer(vc_api.malformed(violations))
    result = await service.verify(body["verifiableCredential"])
    nested = await service.verify_nested(result)
    return _answer(vc_api.credential_result(result, nested=nested))


@router.post(
    "/presentations/verify",
    summary="VC-API: verify a presentation and its credentials",
    description=(
        "W3C VC-API: verifies the presentation's proof (purpose `authentication`, `challenge` and "
        "`domain` as given) and each credential in it. No token; rate-limited per client address."
    ),
    response_model=VcApiResult,
    responses=_RESPONSES,
    openapi_extra={"requestBody": _body_doc("verifiablePresentation")},
)
async def verify_presentation_vc_api(
    request: Request,
    slug: SlugPath,
    session: SessionDep,
    _limit: RateLimitDep,
    service: VerificationServiceDep,
) -> JSONResponse:
    body = await _issuer_and_body(request, slug, session, service)
    violations = vc_api.presentation_request_problems(body)
    if violations:
        return _answer(vc_api.malformed(violations))
    options = body.get("options", {})
    result = await service.verify_presentation(
        body["verifiablePresentation"], challenge=options.get("challenge"), domain=options.get("domain")
    )
    return _answer(vc_api.presentation_result(result))
