"""Request and response schemas of the badges domain (not tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field

from service.schemas import InputSchema, ReadSchema

KeyKind = Literal["Ed25519", "P-256", "RSA"]
CredentialStatus = Literal["active", "revoked"]
MAX_BATCH = 10_000
MAX_EVIDENCE = 100


class CredentialIssue(InputSchema):
    """Issue an achievement to a learner directly (without an award)."""

    achievement_id: UUID
    learner_id: UUID
    evidence_ids: Annotated[list[UUID], Field(max_length=MAX_EVIDENCE)] = []
    #: A retry with the same key returns the credential issued the first time.
    idempotency_key: Annotated[str | None, Field(min_length=1, max_length=200)] = None


class CredentialBatchItem(InputSchema):
    achievement_id: UUID
    learner_id: UUID
    evidence_ids: Annotated[list[UUID], Field(max_length=MAX_EVIDENCE)] = []


class CredentialBatch(InputSchema):
    """Up to 10,000 issuances, run as a job (``badges.issue_batch``)."""

    items: Annotated[list[CredentialBatchItem], Field(min_length=1, max_length=MAX_BATCH)]


class CredentialRevoke(InputSchema):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class KeyRotate(InputSchema):
    """Which key kinds to rotate (default: all three)."""

    kinds: Annotated[list[KeyKind], Field(min_length=1, max_length=3)] = ["Ed25519", "P-256", "RSA"]


class IssuerKeyRead(ReadSchema):
    id: UUID
    kind: str
    generation: int
    fragment: str
    verification_method: str
    status: str
    public_jwk: dict[str, Any]
    created_at: datetime
    retired_at: datetime | None = None


class CredentialRead(ReadSchema):
    """A stored credential; ``id`` is its public URL, ``uuid`` the key of the API's paths."""

    id: str
    uuid: UUID
    name: str
    issuer_id: str
    subject_id: str | None
    award_id: UUID | None
    learner_id: UUID | None
    achievement_id: UUID | None
    status: CredentialStatus
    issued_at: datetime
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    status_list_credential: str
    status_list_index: int
    jwt_url: str


class CredentialDetail(CredentialRead):
    """With the signed credential (eddsa-rdfc-2022) and its VC-JWT form (RS256)."""

    credential: dict[str, Any]
    jwt: str | None = None
