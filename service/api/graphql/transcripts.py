"""Extended transcripts (CLR 2.0) over GraphQL: the same TranscriptService as REST."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any, Self
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from service.api.graphql.common import Page, enum_value, field, mutation, paged, validate_input
from service.api.graphql.context import Info
from service.transcripts.schemas import TranscriptCreate, TranscriptDetail, TranscriptRead, TranscriptRevoke
from service.transcripts.service import TranscriptService, transcript_detail, transcript_read


@strawberry.enum(description="Whether a transcript is revoked (its status list bit is set).")
class TranscriptStatus(Enum):
    ACTIVE = "active"
    REVOKED = "revoked"


def _json(value: Any) -> JSON:
    return value  # type: ignore[no-any-return]


@strawberry.type(description="An extended transcript: a signed CLR 2.0 ClrCredential of one learner.")
class Transcript:
    id: str = strawberry.field(description="the transcript's public URL (the ClrCredential id)")
    uuid: UUID
    learner_id: UUID
    status: TranscriptStatus
    partial: bool
    partial_reasons: list[str]
    as_of: date
    framework_id: UUID | None
    framework_version: str | None
    options: JSON
    counts: JSON
    job_id: UUID | None
    issued_at: datetime
    revoked_at: datetime | None
    revocation_reason: str | None
    status_list_credential: str
    status_list_index: int
    credential: JSON | None = strawberry.field(
        description="the signed ClrCredential (eddsa-rdfc-2022); given by `transcript(uuid:)` and the "
        "generation mutation, not in lists"
    )
    jwt: str | None = strawberry.field(description="the same ClrCredential as a VC-JWT (RS256)")

    @classmethod
    def from_read(cls, read: TranscriptRead | TranscriptDetail) -> Self:
        detail = read if isinstance(read, TranscriptDetail) else None
        return cls(
            id=read.id,
            uuid=read.uuid,
            learner_id=read.learner_id,
            status=TranscriptStatus(read.status),
            partial=read.partial,
            partial_reasons=read.partial_reasons,
            as_of=read.as_of,
            framework_id=read.framework_id,
            framework_version=read.framework_version,
            options=_json(read.options),
            counts=_json(read.counts),
            job_id=read.job_id,
            issued_at=read.issued_at,
            revoked_at=read.revoked_at,
            revocation_reason=read.revocation_reason,
            status_list_credential=read.status_list_credential,
            status_list_index=read.status_list_index,
            credential=_json(detail.credential) if detail else None,
            jwt=detail.jwt if detail else None,
        )


@strawberry.input(
    description="What goes into a transcript (the REST body of POST learners/{id}/transcripts)."
)
class TranscriptInput:
    include_courses: bool | None = strawberry.UNSET
    include_in_progress: bool | None = strawberry.UNSET
    include_self_assessments: bool | None = strawberry.UNSET
    as_of: date | None = strawberry.UNSET
    framework_id: UUID | None = strawberry.UNSET


@strawberry.input
class RevokeTranscriptInput:
    reason: str = strawberry.field(description="why (1 to 2000 characters); kept with the transcript")


@strawberry.type
class TranscriptsQuery:
    @field(description="Transcripts of the caller's district (transcripts:read).")
    async def transcripts(
        self,
        info: Info,
        learner_id: UUID | None = None,
        job_id: UUID | None = None,
        status: TranscriptStatus | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Page[Transcript] | None:
        principal = info.context.require("transcripts:read")
        service = TranscriptService(info.context.session, principal.tenant_id, info.context.settings)
        return await paged(
            info,
            limit,
            offset,
            lambda page: service.list_transcripts(
                page, learner_id=learner_id, job_id=job_id, status=enum_value(status)
            ),
            Transcript.from_read,
        )

    @field(description="One transcript by its uuid, with its credential (transcripts:read).")
    async def transcript(self, info: Info, uuid: UUID) -> Transcript | None:
        principal = info.context.require("transcripts:read")
        service = TranscriptService(info.context.session, principal.tenant_id, info.context.settings)
        async with info.context.db_lock:
            transcript, row = await service.get(uuid)
        return Transcript.from_read(transcript_detail(transcript, row, info.context.settings.public_url))


@strawberry.type
class TranscriptsMutation:
    @mutation(description="Generate a learner's transcript (transcripts:write): signed and stored.")
    async def generate_transcript(
        self, info: Info, learner_id: UUID, input: TranscriptInput | None = None
    ) -> Transcript:
        principal = info.context.require("transcripts:write")
        data = validate_input(TranscriptCreate, input) if input is not None else TranscriptCreate()
        service = TranscriptService(info.context.session, principal.tenant_id, info.context.settings)
        generated = await info.context.write(
            service.generate(learner_id, data, issued_by=principal.client_id)
        )
        return Transcript.from_read(
            transcript_detail(generated.transcript, generated.credential, info.context.settings.public_url)
        )

    @mutation(description="Revoke a transcript (transcripts:write): sets its status list bit at once.")
    async def revoke_transcript(self, info: Info, uuid: UUID, input: RevokeTranscriptInput) -> Transcript:
        principal = info.context.require("transcripts:write")
        data = validate_input(TranscriptRevoke, input)
        service = TranscriptService(info.context.session, principal.tenant_id, info.context.settings)
        transcript, row = await info.context.write(
            service.revoke(uuid, data.reason, revoked_by=principal.client_id)
        )
        return Transcript.from_read(transcript_read(transcript, row, info.context.settings.public_url))
