"""W3C VC-API issuing: ``POST /vc-api/issuers/{slug}/credentials/issue``.

The caller's token needs ``credentials:write`` and must belong to the issuer's district (another
district's issuer answers 404, like one that does not exist). ``options.issuerMethod`` picks the
identifier: ``did:web`` (default, the district's did:web) or ``did:key`` (the did:key of the
district's current Ed25519 key). ``options.credentialStatus`` ``{"type": "BitstringStatusListEntry"}``
adds a revocation entry in the district's status lists and stores the credential (revocable through
``POST /api/v1/credentials/{uuid}/revoke``). The response is ``{"verifiableCredential": ...}`` with an
eddsa-rdfc-2022 DataIntegrityProof.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response, Security
from fastapi.security import SecurityScopes
from pydantic import ConfigDict, Field

from service.api.deps import AuthenticatedDep, SessionDep, SettingsDep, check_scopes
from service.api.rest.errors import WRITE_ERRORS
from service.badges.errors import IssuerNotFound
from service.badges.public import PublicBadgeService
from service.badges.vc_api import VcApiIssuer
from service.schemas import InputSchema
from service.tenancy.tokens import Principal

router = APIRouter(prefix="/vc-api", tags=["vc-api"])


async def _scoped(security_scopes: SecurityScopes, principal: AuthenticatedDep) -> Principal:
    check_scopes(principal, security_scopes.scopes)
    return principal


CredentialsWrite = Annotated[Principal, Security(_scoped, scopes=["credentials:write"])]


class CredentialStatusOption(InputSchema):
    """VC-API ``options.credentialStatus``: add a status entry (and store the credential to revoke it)."""

    type: Literal["BitstringStatusListEntry"]
    status_purpose: Literal["revocation"] = Field(default="revocation", alias="statusPurpose")


class IssueOptions(InputSchema):
    # VC-API clients send options this service does not use (e.g. mandatoryPointers): ignore them.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    issuer_method: Literal["did:web", "did:key"] = Field(default="did:web", alias="issuerMethod")
    created: datetime | None = None
    credential_status: CredentialStatusOption | None = Field(default=None, alias="credentialStatus")


class IssueRequest(InputSchema):
    credential: dict[str, Any]
    options: IssueOptions = IssueOptions()


class IssueResponse(InputSchema):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    verifiable_credential: dict[str, Any] = Field(alias="verifiableCredential")


@router.post(
    "/issuers/{slug}/credentials/issue",
    status_code=201,
    summary="Issue (sign) a credential: W3C VC-API",
    description=(
        "W3C VC-API issuance with a bearer token holding `credentials:write` for that district: the "
        "credential (VC 2.0 or 1.1 context, no proof, no other issuer) is signed with eddsa-rdfc-2022"
        " as the district's did:web (or did:key with `options.issuerMethod`). Undefined JSON-LD terms"
        " and schema violations are 422s naming the field; nothing is stored unless "
        "`options.credentialStatus` asks for a status entry."
    ),
    responses=WRITE_ERRORS,
    response_model=IssueResponse,
    response_model_by_alias=True,
)
async def issue(
    slug: str, body: IssueRequest, principal: CredentialsWrite, session: SessionDep, settings: SettingsDep
) -> Response:
    issuer = await PublicBadgeService(session, settings).issuer(slug)
    if issuer.tenant_id != principal.tenant_id:
        raise IssuerNotFound(f"issuer {slug!r} not found")
    status = body.options.credential_status
    signed = await VcApiIssuer(session, principal.tenant_id, settings).issue(
        body.credential,
        method=body.options.issuer_method,
        created=body.options.created,
        status_purpose=status.status_purpose if status is not None else None,
        issued_by=principal.client_id,
    )
    # The signed document comes as JSON bytes, serialized once by orjson in the signing worker (a
    # pydantic round trip of a free-form dict only copies it).
    return Response(
        b'{"verifiableCredential":' + signed + b"}", status_code=201, media_type="application/json"
    )
