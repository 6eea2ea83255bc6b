"""Credentials (Open Badges 3.0) over GraphQL: the same CredentialService as REST."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Self
from uuid import UUID

import strawberry

from service.api.graphql.common import Page, enum_value, field, mutation, page_params, validate_input
from service.api.graphql.context import Info
from service.badges.schemas import CredentialRead, CredentialRevoke
from service.badges.service import CredentialService, credential_read


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
    ) -> Page[Credential] | None:
        principal = info.context.require("credentials:read")
        page = page_params(limit, offset, info.context.settings)
        service = CredentialService(info.context.session, principal.tenant_id, info.context.settings)
        async with info.context.db_lock:
            items, total = await service.list_credentials(
                page, learner_id=learner_id, achievement_id=achievement_id, status=enum_value(status)
            )
        return Page(
            items=[Credential.from_read(i) for i in items], total=total, limit=page.limit, offset=offset
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
