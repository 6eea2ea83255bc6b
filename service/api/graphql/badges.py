"""Credentials (Open Badges 3.0) over GraphQL: the same CredentialService as REST."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Self
from uuid import UUID

import strawberry

from service.api.graphql.common import (
    CursorPage,
    cursor_paged,
    enum_value,
    field,
    mutation,
    validate_input,
)
from service.api.graphql.context import Info
from service.api.graphql.jobs import Job
from service.badges.issuance import CredentialService, credential_read
from service.badges.schemas import CredentialBatch, CredentialIssue, CredentialRead, CredentialRevoke
from service.jobs.schemas import JobRead


@strawberry.enum(description="Whether a credential is revoked (its status list bit is set).")
class CredentialStatus(Enum):
    ACTIVE = "active"
    REVOKED = "revoked"


@strawberry.type(description="An issued Open Badges 3.0 credential.")
class Credential:
    id: str = strawberry.field(description="the credential's public URL (its `id`)")
    uuid: UUID
    name: str
    issuer_id: str
    subject_id: str | None
    award_id: UUID | None
    learner_id: UUID | None
    achievement_id: UUID | None
    status: CredentialStatus
    issued_at: datetime
    revoked_at: datetime | None
    revocation_reason: str | None
    status_list_credential: str
    status_list_index: int

    @classmethod
    def from_read(cls, read: CredentialRead) -> Self:
        return cls(
            id=read.id,
            uuid=read.uuid,
            name=read.name,
            issuer_id=read.issuer_id,
            subject_id=read.subject_id,
            award_id=read.award_id,
            learner_id=read.learner_id,
            achievement_id=read.achievement_id,
            status=CredentialStatus(read.status),
            issued_at=read.issued_at,
            revoked_at=read.revoked_at,
            revocation_reason=read.revocation_reason,
            status_list_credential=read.status_list_credential,
            status_list_index=read.status_list_index,
        )


@strawberry.input
class RevokeCredentialInput:
    reason: str = strawberry.field(description="why (1 to 2000 characters); kept with the credential")


@strawberry.input(description="Issue an achievement to a learner directly, without an award.")
class IssueCredentialInput:
    achievement_id: UUID
    learner_id: UUID
    evidence_ids: list[UUID] | None = strawberry.field(
        default=strawberry.UNSET, description="evidence the credential names (at most 100)"
    )
    idempotency_key: str | None = strawberry.field(
        default=strawberry.UNSET, description="a retry with the same key returns the first credential"
    )


@strawberry.input(description="One issuance of a batch.")
class IssueCredentialItemInput:
    achievement_id: UUID
    learner_id: UUID
    evidence_ids: list[UUID] | None = strawberry.UNSET


@strawberry.input(description="Up to 10,000 issuances, run as a job.")
class IssueCredentialBatchInput:
    items: list[IssueCredentialItemInput]


@strawberry.type
class BadgesQuery:
    @field(description="Issued credentials of the caller's district (credentials:read).")
    async def credentials(
        self,
        info: Info,
        learner_id: UUID | None = None,
        achievement_id: UUID | None = None,
        status: CredentialStatus | None = None,
        limit: int | None = None,
        offset: int = 0,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="cursor paging: the `next` of the page before (same filters); not with `offset`"
            ),
        ] = None,
    ) -> CursorPage[Credential] | None:
        principal = info.context.require("credentials:read")
        service = CredentialService(info.context.session, principal.tenant_id, info.context.settings)
        return await cursor_paged(
            info,
            limit,
            offset,
            after,
            lambda page, cursor: service.list_credentials(
                page,
                after=cursor,
                learner_id=learner_id,
                achievement_id=achievement_id,
                status=enum_value(status),
            ),
            Credential.from_read,
        )

    @field(description="One credential by its uuid (credentials:read); NOT_FOUND otherwise.")
    async def credential(self, info: Info, uuid: UUID) -> Credential | None:
        principal = info.context.require("credentials:read")
        service = CredentialService(info.context.session, principal.tenant_id, info.context.settings)
        async with info.context.db_lock:
            row = await service.get(uuid)
        return Credential.from_read(credential_read(row, info.context.settings.public_url))


@strawberry.type
class BadgesMutation:
    @mutation(description="Revoke a credential (credentials:write): sets its status list bit at once.")
    async def revoke_credential(self, info: Info, uuid: UUID, input: RevokeCredentialInput) -> Credential:
        principal = info.context.require("credentials:write")
        data = validate_input(CredentialRevoke, input)
        service = CredentialService(info.context.session, principal.tenant_id, info.context.settings)
        async with info.context.db_lock:
            row = await service.revoke(uuid, data.reason, revoked_by=principal.client_id)
        return Credential.from_read(credential_read(row, info.context.settings.public_url))

    @mutation(
        description=(
            "Issue an achievement to a learner (credentials:write), signed eddsa-rdfc-2022 and VC-JWT, "
            "as REST POST /api/v1/credentials; with `idempotencyKey` a retry returns the first credential."
        )
    )
    async def issue_credential(self, info: Info, input: IssueCredentialInput) -> Credential:
        principal = info.context.require("credentials:write")
        data = validate_input(CredentialIssue, input)
        service = CredentialService(info.context.session, principal.tenant_id, info.context.settings)
        async with info.context.db_lock:
            row, _created = await service.issue_direct(data, issued_by=principal.client_id)
        return Credential.from_read(credential_read(row, info.context.settings.public_url))

    @mutation(
        description=(
            "Queue a job issuing up to 10,000 credentials (credentials:write), as REST POST "
            "/api/v1/credentials/batch; follow it with `job(id:)`."
        )
    )
    async def issue_credential_batch(self, info: Info, input: IssueCredentialBatchInput) -> Job:
        principal = info.context.require("credentials:write")
        data = validate_input(CredentialBatch, input)
        service = CredentialService(info.context.session, principal.tenant_id, info.context.settings)
        async with info.context.db_lock:
            job = await service.enqueue_batch(data)
        return Job.from_read(JobRead.model_validate(job))

    @mutation(
        description=(
            "Queue a job issuing the credential of every awarded award still waiting for one "
            "(credentials:write), as REST POST /api/v1/credentials/issue-waiting."
        )
    )
    async def issue_waiting_credentials(self, info: Info) -> Job:
        principal = info.context.require("credentials:write")
        service = CredentialService(info.context.session, principal.tenant_id, info.context.settings)
        async with info.context.db_lock:
            job = await service.enqueue_waiting()
        return Job.from_read(JobRead.model_validate(job))
